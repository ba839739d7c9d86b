// The search page's detail dialog: one image with its caption, metadata and original.

import { del, get } from "./api.js";
import { $, el, openDialog } from "./dom.js";
import { bytes, when } from "./format.js";
import { setBusy } from "./forms.js";
import { api } from "./urls.js";

// [label, payload → shown value (null, undefined or "" leaves the line out), wraps like a path].
const FACTS = [
  ["File", (p) => p.filename],
  ["Folder", (p) => p.folder, true],
  ["Taken", (p) => (p.taken_at ? p.taken_at.replace("T", " ") : null)],
  ["Camera", (p) => p.camera],
  ["Lens", (p) => p.lens],
  ["Location", (p) => (p.gps_latitude != null && p.gps_longitude != null
    ? `${p.gps_latitude.toFixed(5)}, ${p.gps_longitude.toFixed(5)}` : null)],
  ["Format", (p) => p.format],
  ["Size", (p) => (p.width && p.height ? `${p.width} × ${p.height} px` : null)],
  ["File size", (p) => (p.bytes != null ? bytes(p.bytes) : null)],
  ["Orientation", (p) => p.orientation],
  ["Embedding model", (p) => p.embedding_model],
  ["Caption model", (p) => p.caption_model],
  ["Ingested", (p) => (p.ingested_at ? when(p.ingested_at) : null)],
  ["SHA-256", (p) => p.sha256, true],
];

function factNodes(detail, hit) {
  const p = detail.payload || {};
  const nodes = [];
  if (hit) nodes.push(el("dt", { text: "Score" }), el("dd", { text: hit.score.toFixed(4) }));
  for (const [label, pick, isPath] of FACTS) {
    const value = pick(p);
    if (value === null || value === undefined || value === "") continue;
    nodes.push(el("dt", { text: label }), el("dd", { text: String(value), class: isPath ? "path" : null }));
  }
  nodes.push(el("dt", { text: "Point id" }), el("dd", { class: "path", text: detail.id }));
  return nodes;
}

function renderDetail(detail, hit) {
  const p = detail.payload || {};
  $("#detail-title").textContent = p.filename || detail.id;
  const image = $("#detail-image");
  image.src = `${detail.thumbnail_url}?size=1024`;
  image.alt = p.caption || p.filename || "";
  const caption = $("#detail-caption");
  caption.replaceChildren(p.caption || "");
  if (p.caption && p.caption_kind) {
    caption.append(" ", el("span", { class: "muted", text: `(${p.caption_kind} caption)` }));
  }
  $("#detail-original").href = detail.original_url;
  $("#detail-facts").replaceChildren(...factNodes(detail, hit));
}

function showRemoveError(err) {
  const line = $("#detail-error");
  line.textContent = `Not removed: ${err.message}`;
  line.dataset.code = err.code;
  line.hidden = false;
}

// "Remove from index" asks first; once removed, the dialog closes and the result's tile goes.
async function removePoint(dialog, collection, id, name) {
  const yes = $("#detail-remove-yes");
  setBusy(yes, true, "Removing…");
  try {
    await del(api.point(collection, id));
  } catch (err) {
    showRemoveError(err);
    return;
  } finally {
    setBusy(yes, false);
  }
  dialog.close();
  const tile = $(`#results button[data-id="${CSS.escape(id)}"]`);
  if (tile) tile.closest("li").remove();
  $("#results-summary").textContent = `Removed ${name} from the index.`;
}

function wireRemove(dialog, collection, id, name) {
  const ask = $("#detail-remove");
  const confirmBox = $("#detail-remove-confirm");
  const error = $("#detail-error");
  confirmBox.hidden = true;
  error.hidden = true;
  ask.hidden = false;
  ask.onclick = () => { ask.hidden = true; confirmBox.hidden = false; $("#detail-remove-no").focus(); };
  $("#detail-remove-no").onclick = () => { confirmBox.hidden = true; ask.hidden = false; ask.focus(); };
  $("#detail-remove-yes").onclick = () => removePoint(dialog, collection, id, name);
}

// Fetch and show point `id` of `collection`; `hit` (its search result, if shown) adds the score.
// Returns {id, name} of the point shown.
export async function showDetail(dialog, collection, id, hit) {
  const detail = await get(api.point(collection, id));
  renderDetail(detail, hit);
  wireRemove(dialog, collection, id, (detail.payload || {}).filename || detail.id);
  if (!dialog.open) openDialog(dialog);
  return { id: detail.id, name: (detail.payload || {}).filename || detail.id };
}
