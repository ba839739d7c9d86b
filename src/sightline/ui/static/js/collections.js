// Collections page: create with every parameter, merge one into another (a background task followed to its
// outcome), delete with a typed confirmation.
// The name rule and the number ranges are read from the inputs' own pattern / maxlength / min / max.

import { del, get, post } from "./api.js";
import { $, $$, el, openDialog, wireDialogClose } from "./dom.js";
import { plural } from "./format.js";
import { clearErrors, integerField, setBusy, showApiError, showError } from "./forms.js";
import { watchMl } from "./ml-status.js";
import { waitForTask } from "./review-common.js";
import { api, pages, review } from "./urls.js";

// API error locations → the field showing them.
const ALIASES = {
  "hnsw.m": "hnsw_m", "hnsw.ef_construct": "hnsw_ef_construct", collection: "name", hnsw: "hnsw_m",
};

function rangeOf(form, name, options) {
  const input = form.elements[name];
  return integerField(form, name, Number(input.min), Number(input.max), options);
}

function nameError(input) {
  const name = input.value.trim();
  if (!name) return "Enter a name for the collection.";
  if (!new RegExp(`^(?:${input.pattern})$`).test(name) || name.length > input.maxLength) {
    return `Use up to ${input.maxLength} letters, digits, “_” and “-”, starting with a letter or digit.`;
  }
  return null;
}

function invalid(form, field, message) {
  showError(form, field, message);
  return null;
}

// The request body, or null once an error is shown next to its field.
function collectionBody(form) {
  const error = nameError(form.elements.name);
  if (error) return invalid(form, "name", error);
  const numbers = {};
  for (const [name, optional] of [["hnsw_m", false], ["hnsw_ef_construct", false], ["vector_size", true]]) {
    const field = rangeOf(form, name, { optional });
    if (field.error) return invalid(form, name, field.error);
    numbers[name] = field.value;
  }
  const body = {
    name: form.elements.name.value.trim(),
    distance: form.elements.distance.value,
    on_disk: form.elements.on_disk.checked,
    hnsw: { m: numbers.hnsw_m, ef_construct: numbers.hnsw_ef_construct },
    quantization: form.elements.quantization.value || null,
  };
  if (numbers.vector_size !== null) body.vector_size = numbers.vector_size;
  return body;
}

async function create(form) {
  clearErrors(form);
  const status = $(".form-status", form);
  status.textContent = "";
  const body = collectionBody(form);
  if (!body) return;
  const button = $('button[type="submit"]', form);
  setBusy(button, true, "Creating…");
  try {
    await post(api.collections, body);
    status.textContent = `Created ${body.name}.`;
    location.assign(pages.collections({ created: body.name }));
  } catch (err) {
    showApiError(form, err, ALIASES);
    setBusy(button, false);
  }
}

function initDelete() {
  const dialog = $("#delete-dialog");
  const form = $("#delete-form");
  const confirmInput = $("#delete-confirm");
  const submit = $("#delete-submit");
  let target = null;
  wireDialogClose(dialog);

  async function ask(button) {
    target = button.dataset.delete;
    showCounts(await freshCounts());
    $$("[data-name]", dialog).forEach((node) => { node.textContent = target; });
    $("[data-count]", dialog).textContent = plural(Number(button.dataset.points), "image");
    confirmInput.value = "";
    submit.disabled = true;
    clearErrors(form);
    openDialog(dialog);
    confirmInput.focus();
  }

  async function confirmDelete() {
    if (confirmInput.value !== target) return;
    clearErrors(form);
    setBusy(submit, true, "Deleting…");
    try {
      await del(api.collection(target));
      dialog.close();
      location.assign(pages.collections({ deleted: target }));
    } catch (err) {
      showError(form, null, err.message);
      setBusy(submit, false);
    }
  }

  $$("[data-delete]").forEach((button) => button.addEventListener("click", () => ask(button)));
  confirmInput.addEventListener("input", () => { submit.disabled = confirmInput.value !== target; });
  form.addEventListener("submit", (event) => { event.preventDefault(); confirmDelete(); });
}

// Each collection's number of images now (name → count); none when they cannot be asked for (the page's stay).
async function freshCounts() {
  try {
    const { collections } = await get(api.collections);
    return new Map(collections.map((info) => [info.name, info.points_count]));
  } catch {
    return new Map();
  }
}

// The counts of the page (its table, the buttons' and the merge dialog's choices) brought up to date.
function showCounts(counts) {
  for (const [name, count] of counts) {
    const row = $(`tr[data-collection="${CSS.escape(name)}"]`);
    if (row) $('td[data-label="Images"]', row).textContent = count;
    $$(`[data-merge="${CSS.escape(name)}"], [data-delete="${CSS.escape(name)}"]`).forEach((button) => {
      button.dataset.points = count;
    });
    const option = $(`#merge-into option[value="${CSS.escape(name)}"]`);
    if (option) option.textContent = `${name} (${count})`;
  }
}

function initMerge() {
  const dialog = $("#merge-dialog");
  if (!dialog) return;
  const form = $("#merge-form");
  const select = $("#merge-into");
  const submit = $("#merge-submit");
  const status = $("#merge-status");
  let source = null;
  let merged = false; // closing after a merge reloads the page: its counts changed
  wireDialogClose(dialog);
  dialog.addEventListener("close", () => { if (merged) location.reload(); });

  async function ask(button) {
    source = button.dataset.merge;
    merged = false;
    showCounts(await freshCounts()); // an ingest or a merge since the page loaded changed them
    $$("[data-name]", dialog).forEach((node) => { node.textContent = source; });
    $("[data-count]", dialog).textContent = plural(Number(button.dataset.points), "image");
    const own = $(`option[value="${CSS.escape(source)}"]`, select).dataset.signature;
    for (const option of select.options) option.hidden = option.value === source || option.dataset.signature !== own;
    const first = Array.from(select.options).find((option) => !option.hidden);
    select.value = first ? first.value : "";
    submit.disabled = !first;
    submit.hidden = false;
    status.textContent = first ? "" : "No other collection holds vectors of the same model.";
    clearErrors(form);
    openDialog(dialog);
  }

  async function mergeInto() {
    clearErrors(form);
    status.textContent = "";
    setBusy(submit, true, "Merging…");
    try {
      const { task } = await post(review.merge(source), { into: select.value });
      const done = await waitForTask(task, $("#merge-progress"));
      if (done.state === "failed") throw new Error(done.error.message);
      const { merged: count, added, into, points_count: total, sources } = done.result;
      merged = true;
      const follows = sources.length ? ` It now follows ${sources.join(", ")} too.` : "";
      status.textContent = `Merged ${plural(count, "image")} of ${source} into ${into}: ${added} new, `
        + `${count - added} already there; it now holds ${total}.${follows}`;
      submit.hidden = true;
      $("#merge-close").textContent = "Close";
    } catch (err) {
      showError(form, err.where || null, err.message);
    } finally {
      setBusy(submit, false);
    }
  }

  $$("[data-merge]").forEach((button) => button.addEventListener("click", () => ask(button)));
  form.addEventListener("submit", (event) => { event.preventDefault(); mergeInto(); });
}

// The ML service's notice follows its state; once it is up the form names its model (no reload: the form may
// be half filled).
function showMl(state, status) {
  $("#ml-loading").hidden = state !== "loading";
  $("#ml-down").hidden = state !== "down";
  if (state !== "up") return;
  const { backend, dimension, embedding_model: model } = status.ml.capabilities;
  const fact = $("#model-fact");
  fact.classList.remove("muted");
  fact.replaceChildren(`${model || backend} `, el("span", { class: "muted", text: `(${backend}, ${dimension}-d)` }));
  $("#vector_size").placeholder = dimension;
}

export function initCollections() {
  watchMl(showMl);
  const form = $("#create-collection");
  form.addEventListener("submit", (event) => { event.preventDefault(); create(form); });
  initMerge();
  initDelete();
}
