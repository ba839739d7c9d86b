// The duplicates page: groups from the API (exact and near), a movable threshold, and per group "keep this
// one, remove the others from the index" or "not duplicates".

import { ApiError, get, post } from "./api.js";
import { $, el } from "./dom.js";
import { bytes, when } from "./format.js";
import { review } from "./urls.js";
import { collectionName, initSurprise, waitForTask } from "./review-common.js";

const name = collectionName();
const status = $("#dup-status");
const list = $("#dup-groups");
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
  } catch (err) {
    if (ticket === loading) status.textContent = err.message;
  }
}

function show(answer) {
  list.replaceChildren(...answer.groups.map(groupView));
  status.textContent = answer.groups.length
    ? `${answer.total_groups} group(s) of duplicates.` : "No duplicates found.";
}

function fact(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value ?? "—" })];
}

function memberView(group, point, index) {
  const others = group.point_ids.filter((id) => id !== point.id);
  const keep = el("button", { type: "button", class: "button small", text: "Keep this one, remove the others" });
  keep.addEventListener("click", () => act(review.keep(name), { keep: point.id, remove: others }));
  const size = point.width && point.height ? `${point.width}×${point.height}` : null;
  const date = point.sort_ts ? when(new Date(point.sort_ts * 1000).toISOString()) : null;
  return el("article", { class: index === 0 ? "dup-member best" : "dup-member", "data-id": point.id },
    el("img", { src: review.thumbnail(name, point.id, 320), alt: point.filename || "", loading: "lazy" }),
    el("dl", {}, ...fact("Size", size), ...fact("Format", point.format), ...fact("File", point.bytes != null
      ? bytes(point.bytes) : null), ...fact("Date", date), ...fact("Folder", point.folder)),
    index === 0 ? el("p", { class: "badge", text: "Best" }) : null,
    keep);
}

function groupView(group) {
  const notDuplicates = el("button", { type: "button", class: "button small", text: "Not duplicates" });
  notDuplicates.addEventListener("click", () => act(review.dismiss(name), { point_ids: group.point_ids }));
  const similarity = group.kind === "near" ? ` · similarity ≥ ${group.score.toFixed(3)}` : "";
  return el("section", { class: "dup-group", "data-kind": group.kind },
    el("header", {}, el("strong", { text: `${group.point_ids.length} photos` }),
      el("span", { text: `${group.kind === "exact" ? "same bytes" : "near duplicates"}${similarity}` }),
      notDuplicates),
    el("div", { class: "dup-members" }, ...group.points.map((point, index) => memberView(group, point, index))));
}

async function act(url, body) {
  try {
    await post(url, body);
    await load();
  } catch (err) {
    status.textContent = err.message;
  }
}

initSurprise(name);
$("#dup-kind").addEventListener("change", load);
$("#dup-threshold").addEventListener("input", () => { $("#dup-threshold-value").textContent = $("#dup-threshold").value; });
$("#dup-threshold").addEventListener("change", load);
load();
