// The duplicates page: groups from the API (exact and near), a movable threshold, and per group "keep this
// one, remove the others from the index", "not duplicates" or "new collection from this group". Each group says
// in words whether the pictures themselves were compared (perceptual hashes) and which copies are byte-identical.

import { ApiError, get, post } from "./api.js";
import { $, el } from "./dom.js";
import { bytes, formatName, photoDate, plural } from "./format.js";
import { setBusy } from "./forms.js";
import { collectionFromPoints } from "./from-points.js";
import { review } from "./urls.js";
import { collectionName, initSurprise, waitForTask } from "./review-common.js";

const name = collectionName();
const status = $("#dup-status");
const list = $("#dup-groups");
const outcome = $("#dup-done"); // what the last action did
let loading = 0;

function params() {
  return { kind: $("#dup-kind").value, threshold: $("#dup-threshold").value, limit: 100 };
}

async function load() {
  const ticket = ++loading;
  status.textContent = "Looking for duplicates…";
  try {
    let answer = await get(review.duplicates(name, params()));
    if (answer.state === "scanning") {
      const task = await waitForTask(answer.task, $("#dup-progress"));
      if (task.state === "failed") throw new ApiError(500, "SCAN_FAILED", task.error.message, null);
      answer = await get(review.duplicates(name, params()));
    }
    if (ticket === loading) show(answer);
    return ticket === loading;
  } catch (err) {
    if (ticket === loading) status.textContent = err.message;
    return false;
  }
}

function show(answer) {
  list.replaceChildren(...answer.groups.map(groupView));
  status.textContent = answer.groups.length
    ? `${plural(answer.total_groups, "group")} of duplicates.` : "No duplicates found.";
}

function fact(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value ?? "—" })];
}

// A folder that may wrap after each "/", not inside a name (as the Sources page's `folder_path`).
function folderFact(value) {
  const parts = (value ?? "—").split("/");
  const nodes = parts.flatMap((part, i) => (i < parts.length - 1 ? [`${part}/`, el("wbr")] : [part]));
  return [el("dt", { text: "Folder" }), el("dd", {}, ...nodes)];
}

// What a member is to the group's first photo, in words: the same bytes, or how alike the pictures are.
function kinship(group, point, index) {
  if (index === 0) return null;
  if (point.exact_of) {
    const same = group.points.find((other) => other.id === point.exact_of);
    return point.exact_of === group.point_ids[0] ? "Same bytes as the best"
      : `Same bytes as ${same?.filename || "another photo here"}`;
  }
  if (group.kind === "exact") return "Same bytes as the best";
  if (point.hash_bits == null) return "Picture not compared (its file could not be read)";
  return `Pictures match the best (${point.hash_bits} of 64 hash bits differ)`;
}

// "Keep IMG_1.jpg, remove the other" / "…, remove the 3 others": the file named for screen readers.
function keepLabel(point, others) {
  const rest = others.length === 1 ? "the other" : `the ${others.length} others`;
  return `Keep ${point.filename || "this one"}, remove ${rest}`;
}

function memberView(group, point, index) {
  const others = group.point_ids.filter((id) => id !== point.id);
  const keep = el("button", { type: "button", class: "button small", text: "Keep this one, remove the others",
    "aria-label": keepLabel(point, others) });
  keep.addEventListener("click", () => act(review.keep(name), { keep: point.id, remove: others }, group,
    (answer) => removedLine(answer, group)));
  const size = point.width && point.height ? `${point.width}×${point.height}` : null;
  const date = photoDate(point.sort_ts);
  const relation = kinship(group, point, index);
  return el("article", { class: index === 0 ? "dup-member best" : "dup-member", "data-id": point.id },
    el("img", { src: review.thumbnail(name, point.id, 320), alt: point.filename || "", loading: "lazy" }),
    el("dl", {}, ...fact("File", point.filename), ...fact("Dimensions", size),
      ...fact("Format", formatName(point.format)),
      ...fact("Size on disk", point.bytes != null ? bytes(point.bytes) : null),
      ...fact(point.date_source === "file" ? "File date" : "Date", date), // no date of its own: as the viewer says
      ...folderFact(point.folder)),
    index === 0 ? el("p", { class: "badge", text: "Best" }) : null,
    relation ? el("p", { class: point.exact_of ? "badge dup-relation exact" : "hint dup-relation", text: relation })
      : null,
    keep);
}

// The group's check in words: near groups were confirmed by comparing the pictures, unless a file was unreadable.
function checkWords(group) {
  if (group.kind === "exact") return "same bytes";
  const similarity = `similarity ≥ ${group.score.toFixed(3)}`;
  const exact = Object.keys(group.exact_of || {}).length;
  const copies = exact ? ` · ${exact} byte-identical cop${exact === 1 ? "y" : "ies"}` : "";
  const check = group.checked ? "pictures compared: they match"
    : "pictures not all compared (a file could not be read): grouped by similarity alone";
  return `near duplicates · ${similarity} · ${check}${copies}`;
}

function newCollectionForm(group) {
  const input = el("input", { type: "text", name: "name", required: "", placeholder: "Name of the new collection",
    "aria-label": "Name of the new collection" });
  const done = el("span", { class: "dup-new-status", role: "status" });
  const button = el("button", { type: "submit", class: "button small", text: "Create collection" });
  const form = el("form", { class: "dup-new" }, input, button, done);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    done.textContent = "";
    setBusy(button, true, "Creating…");
    try {
      const made = await collectionFromPoints(input.value.trim(), name, group.point_ids, done);
      done.replaceChildren(`Created ${made.collection} with ${plural(made.points_count, "photo")}. `,
        el("a", { href: review.duplicatesPage(made.collection), text: "Open it" }));
    } catch (err) {
      done.textContent = err.message;
    } finally {
      setBusy(button, false);
    }
  });
  return el("details", { class: "dup-new-details" },
    el("summary", { text: "New collection from this group" }), form);
}

// "coffee.jpg and 1 other": what the focus reads when it lands on the group after the one acted on.
function groupTitle(group) {
  const first = group.points.find((point) => point.id === group.point_ids[0])?.filename;
  const others = group.point_ids.length - 1;
  return first ? `${first} and ${plural(others, "other")}` : plural(group.point_ids.length, "photo");
}

function groupView(group) {
  const notDuplicates = el("button", { type: "button", class: "button small", text: "Not duplicates" });
  notDuplicates.addEventListener("click", () => act(review.dismiss(name), { point_ids: group.point_ids }, group,
    () => ["Marked as not duplicates: they are not proposed together again."]));
  return el("section", { class: "dup-group", "data-first": group.point_ids[0], "data-kind": group.kind,
    "data-checked": String(group.checked) },
    el("header", {}, el("h3", { class: "dup-heading", tabindex: "-1", text: groupTitle(group) }),
      el("span", { class: "dup-check", text: checkWords(group) }), notDuplicates),
    el("div", { class: "dup-members" }, ...group.points.map((point, index) => memberView(group, point, index))),
    newCollectionForm(group));
}

// The files of `ids` by name: "a.jpg", "a.jpg and b.jpg", "a.jpg, b.jpg, c.jpg and 2 others".
function fileNames(group, ids) {
  const names = ids.map((id) => group.points.find((point) => point.id === id)?.filename || "a photo");
  const shown = names.length > 4 ? [...names.slice(0, 3), plural(names.length - 3, "other")] : names;
  return new Intl.ListFormat("en", { type: "conjunction" }).format(shown);
}

// What a "keep" did, in words, with the way back (a followed folder's "Bring back" on its Sources page).
function removedLine(answer, group) {
  const files = answer.deleted.length === 1 ? "the file stays" : "the files stay";
  return [`Removed ${fileNames(group, answer.deleted)} from the index; ${files} on disk. `,
    "Photos of a followed folder come back with “Bring back” on ",
    el("a", { href: review.sourcesPage(name), text: "its Sources page" }), "."];
}

// An action on `group`, then the groups again: what it did is said, and the group is hidden as the action
// starts and leaves the page once it is done (no thumbnail of a photo it removes is asked for meanwhile, nor
// while the groups reload: each would be a 404); it comes back if the action fails. The focus goes to the
// group that took its place (else the one before it), so a keyboard user keeps their place; with none left,
// to the line saying that every group is done.
async function act(url, body, group, said) {
  const at = Array.from(list.children).findIndex((node) => node.dataset.first === group.point_ids[0]);
  const node = list.children[at];
  const focused = document.activeElement;
  if (node) node.hidden = true;
  try {
    const answer = await post(url, body);
    node?.remove();
    outcome.replaceChildren(...said(answer));
    outcome.hidden = false;
    if (!(await load())) return;
  } catch (err) {
    if (node?.isConnected) {
      node.hidden = false;
      focused?.focus();
    }
    status.textContent = err.message;
    return;
  }
  const next = list.children[at] || list.children[at - 1];
  if (next) return $(".dup-heading", next).focus();
  status.textContent = "All groups are done: no duplicates left.";
  status.tabIndex = -1;
  status.focus();
}

initSurprise(name);
$("#dup-kind").addEventListener("change", load);
$("#dup-threshold").addEventListener("input", () => { $("#dup-threshold-value").textContent = $("#dup-threshold").value; });
$("#dup-threshold").addEventListener("change", load);
load();
