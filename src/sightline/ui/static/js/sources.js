// Sources page: add, edit, remove a followed folder, "sync now", and the states kept live (polled).

import { del, get, post, request } from "./api.js";
import { $, $$, openDialog, wireDialogClose } from "./dom.js";
import { clearErrors, integerField, setBusy, showApiError, showError } from "./forms.js";
import { plural, when } from "./format.js";
import { api, pages, review } from "./urls.js";

const POLL_MS = 2000;
const WORDS = [["done", "embedded"], ["cached", "reused"], ["skipped", "unchanged"], ["moved", "moved"],
  ["removed", "removed"], ["failed", "failed"]];
const collection = $("#sources-data").dataset.collection;

function syncText(source) {
  const last = source.last_sync;
  if (!last) return "never";
  const words = WORDS.filter(([key]) => last.counts[key]).map(([key, word]) => `${last.counts[key]} ${word}`);
  const state = last.state.replaceAll("_", " ");
  return words.length ? `${state}: ${words.join(", ")}` : state;
}

// The unreadable files a row names, then "and N more": as `sightline sources list` says it (images_text() in
// cli/commands/sources.py). Mirrors unreadable_text() in templates/sources.html.
const UNREADABLE_NAMED = 2;
function unreadableText(source) {
  const names = source.unreadable_files.slice(0, UNREADABLE_NAMED).map((file) => file.name).join(", ");
  const more = source.unreadable > UNREADABLE_NAMED ? ` and ${source.unreadable - UNREADABLE_NAMED} more` : "";
  return `${plural(source.unreadable, "file")} cannot be read: ${names}${more}`;
}

// A link's text and target (none: no link).
function setLink(link, text, href) {
  link.textContent = text;
  if (href) link.href = href;
  else link.removeAttribute("href");
}

function patterns(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

// The fields both forms share, checked: the body, or null once an error is shown.
function sourceFields(form, rescanName) {
  const rescan = integerField(form, rescanName, 0, 10080);
  if (rescan.error) {
    showError(form, "rescan_minutes", rescan.error);
    return null;
  }
  return { watch: form.elements.watch.checked, exclude: patterns(form.elements.exclude.value),
    rescan_minutes: rescan.value };
}

function showRow(row, source) {
  const state = $('[data-field="state"]', row);
  state.textContent = source.state;
  state.className = `badge state-${source.state}`;
  $('[data-field="offline"]', row).textContent = source.offline_reason || "";
  $('[data-field="images"]', row).textContent = source.images;
  setLink($('[data-field="last-sync"]', row), syncText(source), source.last_sync && pages.job(source.last_sync.job_id));
  const unreadable = $('[data-field="unreadable"]', row);
  unreadable.hidden = !source.unreadable;
  setLink($("a", unreadable), source.unreadable ? unreadableText(source) : "",
    source.unreadable && pages.job(source.unreadable_files[0].job_id));
  const at = $('[data-field="last-sync-at"]', row);
  if (at && source.last_sync_at) at.textContent = when(source.last_sync_at);
}

// The states are polled; while the server does not answer the page says so (the job page's words).
async function refresh() {
  const live = $("#live-status");
  try {
    const answer = await get(api.sources(collection));
    for (const source of answer.sources) {
      const row = $(`tr[data-source="${CSS.escape(source.source_id)}"]`);
      if (row) showRow(row, source);
    }
    live.textContent = "";
  } catch (err) {
    live.textContent = err.status === 0 ? "Connection lost; reconnecting…" : err.message; // the next poll retries
  }
}

async function add(form) {
  clearErrors(form);
  const body = sourceFields(form, "rescan_minutes");
  if (!body) return;
  body.path = form.elements.path.value.trim();
  if (!body.path) return showError(form, "path", "Enter a folder.");
  const button = $('button[type="submit"]', form);
  setBusy(button, true, "Adding…");
  try {
    await post(api.sources(collection), body);
    location.reload();
  } catch (err) {
    showApiError(form, err, {});
    setBusy(button, false);
  }
}

function initEdit(row) {
  const dialog = $("#edit-dialog");
  const form = $("#edit-source");
  clearErrors(form);
  $("[data-path]", dialog).textContent = $("code", row).textContent;
  form.elements.exclude.value = row.dataset.exclude;
  form.elements["edit-rescan"].value = row.dataset.rescan;
  form.elements.watch.checked = row.dataset.watch === "true";
  form.onsubmit = async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = sourceFields(form, "edit-rescan");
    if (!body) return;
    try {
      await request("PATCH", api.source(collection, row.dataset.source), body);
      location.reload();
    } catch (err) {
      showApiError(form, err, {});
    }
  };
  openDialog(dialog);
}

function initRemove(row) {
  const dialog = $("#remove-dialog");
  const form = $("#remove-source");
  clearErrors(form);
  $("[data-path]", dialog).textContent = $("code", row).textContent;
  form.elements.remove_points.checked = false;
  form.onsubmit = async (event) => {
    event.preventDefault();
    try {
      await del(api.sourceRemove(collection, row.dataset.source, form.elements.remove_points.checked));
      location.reload();
    } catch (err) {
      showApiError(form, err, {});
    }
  };
  openDialog(dialog);
}

// Photos removed from the index come back, all of them, once confirmed: the source forgets its removals and syncs.
function confirmBringBack(row, button) {
  const dialog = $("#forget-dialog");
  const form = $("#forget-removals");
  clearErrors(form);
  $("[data-count]", dialog).textContent = plural(Number(button.dataset.forget), "removed photo");
  $("[data-path]", dialog).textContent = $("code", row).textContent;
  form.onsubmit = async (event) => {
    event.preventDefault();
    try {
      await del(api.sourceRemoved(collection, row.dataset.source));
      location.reload();
    } catch (err) {
      showApiError(form, err, {});
    }
  };
  openDialog(dialog);
}

async function syncNow(row, button) {
  setBusy(button, true, "Syncing…");
  try {
    await post(api.sourceSync(collection, row.dataset.source));
    await refresh();
  } finally {
    setBusy(button, false);
  }
}

function init() {
  wireDialogClose($("#edit-dialog"));
  wireDialogClose($("#remove-dialog"));
  wireDialogClose($("#forget-dialog"));
  $("#add-source").addEventListener("submit", (event) => { event.preventDefault(); add(event.target); });
  const switcher = $("#sources-collection");
  switcher.addEventListener("change", () => location.assign(review.sourcesPage(switcher.value)));
  for (const row of $$("tr[data-source]")) {
    $("[data-sync]", row).addEventListener("click", (event) => syncNow(row, event.currentTarget));
    $("[data-edit]", row).addEventListener("click", () => initEdit(row));
    $("[data-remove]", row).addEventListener("click", () => initRemove(row));
    $("[data-forget]", row)?.addEventListener("click", (event) => confirmBringBack(row, event.currentTarget));
  }
  setInterval(refresh, POLL_MS);
}

init();
