// Ingest page: a folder on the server (picked in the folder browser) or files uploaded by drag and drop.

import { get, post, upload } from "./api.js";
import { $, dropZone, el, guardWindowDrops } from "./dom.js";
import { bytes, plural } from "./format.js";
import { clearErrors, setBusy, showApiError, showError } from "./forms.js";
import { rememberCollection } from "./remembered.js";
import { api, pages, review } from "./urls.js";

// --- folder browser -----------------------------------------------------------------------------------------

function showFolder(data, ui) {
  ui.up.disabled = !data.path;
  ui.where.textContent = data.path || "Ingest roots";
  if (data.path) ui.pathInput.value = data.path;
  ui.list.replaceChildren(...data.folders.map((folder) => el("li", {},
    el("button", { type: "button", class: "folder", "data-path": folder.path, text: folder.name }))));
  if (!data.folders.length) ui.list.append(el("li", { class: "muted", text: "No sub-folders." }));
  ui.count.textContent = data.path
    ? `${plural(data.images, "image file")} directly in this folder.`
    : "Choose a root to start.";
}

function initBrowser(scanForm) {
  const ui = {
    list: $("#folder-list"), where: $("#browse-where"), count: $("#browse-count"), up: $("#browse-up"),
    pathInput: $("#directory_path"),
  };
  let parent = null;

  async function browse(path) {
    clearErrors($("#folder-browser"));
    let data;
    try {
      data = await get(api.browse(path));
    } catch (err) {
      showError(scanForm, "path", err.message);
      return;
    }
    parent = data.parent;
    showFolder(data, ui);
    // The clicked folder button is gone: keep the keyboard in the list.
    const first = $("button", ui.list);
    if (first && path && !ui.list.contains(document.activeElement)) first.focus();
  }

  ui.list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-path]");
    if (button) browse(button.dataset.path);
  });
  ui.up.addEventListener("click", () => browse(parent));
  $("#browse-roots").addEventListener("click", () => browse(null));
  $("#browse-go").addEventListener("click", () => browse(ui.pathInput.value.trim() || null));
  ui.pathInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.altKey) {
      event.preventDefault();
      browse(ui.pathInput.value.trim());
    }
  });
}

// --- scan a folder ------------------------------------------------------------------------------------------

async function startScan(form, collection) {
  clearErrors(document);
  if (!collection.value) return showError(form, "collection", "Choose a collection first.");
  const directory = $("#directory_path").value.trim();
  if (!directory) return showError(form, "directory_path", "Choose a folder in the browser or type its path.");
  const button = $("#scan-submit");
  setBusy(button, true, "Starting…");
  try {
    const answer = await post(api.scan, {
      collection: collection.value,
      directory_path: directory,
      recursive: $("#recursive").checked,
      caption: $("#scan-caption").checked,
    });
    location.assign(pages.job(answer.job_id));
  } catch (err) {
    showApiError(form, err);
    setBusy(button, false);
  }
}

// --- upload: files from the picker and from drops add up until sent or cleared -------------------------------

function chosenSummary(chosen) {
  if (!chosen.length) return "No file chosen.";
  const total = chosen.reduce((sum, file) => sum + file.size, 0);
  const names = chosen.slice(0, 5).map((file) => file.name).join(", ");
  const more = chosen.length > 5 ? ` and ${chosen.length - 5} more` : "";
  return `${plural(chosen.length, "file")} (${bytes(total)}): ${names}${more}`;
}

function showChosen(ui, chosen, collection) {
  const { form, summary, clear, submit } = ui;
  clearErrors(form);
  summary.textContent = chosenSummary(chosen);
  clear.disabled = submit.disabled = !chosen.length || !collection.value;
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const tooBig = chosen.filter((file) => file.size > maxBytes);
  if (tooBig.length) {
    showError(form, "files", `Too large (over ${bytes(maxBytes)}): ${tooBig.map((f) => f.name).join(", ")}`);
    submit.disabled = true;
  }
}

async function sendUpload(ui, chosen, collection) {
  const { form, clear, submit, progress } = ui;
  clearErrors(document);
  if (!collection.value) return showError(form, "collection", "Choose a collection first.");
  if (!chosen.length) return showError(form, "files", "Choose or drop images first.");
  const data = new FormData();
  data.append("collection", collection.value);
  data.append("caption", $("#upload-caption").checked ? "true" : "false");
  chosen.forEach((file) => data.append("files", file, file.name));
  setBusy(submit, true, "Uploading…");
  clear.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  try {
    const answer = await upload(api.upload, data, (fraction) => { progress.value = Math.round(fraction * 100); });
    location.assign(pages.job(answer.job_id));
  } catch (err) {
    progress.hidden = true;
    showApiError(form, err);
    setBusy(submit, false);
    clear.disabled = false;
  }
}

function initUpload(collection) {
  const ui = {
    form: $("#upload-form"), summary: $("#file-summary"), clear: $("#upload-clear"),
    submit: $("#upload-submit"), progress: $("#upload-progress"),
  };
  const input = $("#files");
  let chosen = [];
  const add = (files) => {
    chosen = chosen.concat(files);
    showChosen(ui, chosen, collection);
  };
  input.addEventListener("change", () => { add(Array.from(input.files)); input.value = ""; });
  dropZone($("#dropzone"), add);
  ui.clear.addEventListener("click", () => {
    chosen = [];
    showChosen(ui, chosen, collection);
  });
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendUpload(ui, chosen, collection);
  });
}

// The "Sources" link leads to the chosen collection's folders; the collection chosen is the one worked in.
function followCollection(collection) {
  const link = $("#sources-link");
  const point = () => { if (collection.value) link.href = review.sourcesPage(collection.value); };
  collection.addEventListener("change", point);
  collection.addEventListener("change", () => rememberCollection(collection.value));
  point();
}

export function initIngest() {
  guardWindowDrops();
  const collection = $("#ingest-collection");
  followCollection(collection);
  const scanForm = $("#scan-form");
  initBrowser(scanForm);
  scanForm.addEventListener("submit", (event) => { event.preventDefault(); startScan(scanForm, collection); });
  initUpload(collection);
}
