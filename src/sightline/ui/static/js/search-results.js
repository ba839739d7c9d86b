// The results of the photos page: a grid grouped by month when browsing (or listing what a query of facts alone
// keeps), the strong matches then the weaker ones when searching; pages are appended as they load.

import { request } from "./api.js";
import { $, el } from "./dom.js";

const MONTH = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" });

// sort_ts (unix s, the taken date or else the file's time) → "2023-06".
function monthKey(payload) {
  if (payload.sort_ts === null || payload.sort_ts === undefined) return "undated";
  return new Date(payload.sort_ts * 1000).toISOString().slice(0, 7);
}

// "2023-06" → "June 2023"; "2023" stays "2023".
export function monthLabel(key) {
  if (key === "undated") return "No date";
  return key.length === 4 ? key : MONTH.format(new Date(`${key}-01T00:00:00Z`));
}

// A file name that may be cut in its middle: the start gives way (ending in "…"), the last characters before
// the extension and the extension stay ("IMG_20190704_…4411.jpg"), since they tell a camera's photos apart.
export function nameLabel(name) {
  const dot = name.lastIndexOf(".");
  const cut = Math.max(0, (dot > 0 ? dot : name.length) - 4);
  if (cut < 4) return el("span", { class: "result-name", title: name, text: name });
  return el("span", { class: "result-name", title: name },
    el("span", { class: "name-start", text: name.slice(0, cut) }), el("span", { class: "name-end", text: name.slice(cut) }));
}

// The API's words when a photo's image failed to load because its original file is gone (moved, renamed or
// deleted since it was indexed: a 404 on its `path`), else null (any other failure).
export async function goneMessage(url) {
  try {
    await request("GET", url);
  } catch (err) {
    if (err.code === "NOT_FOUND" && err.where === "path") return err.message;
  }
  return null;
}

// A tile whose thumbnail fails because the original is gone says so instead of showing a broken image.
function showGone(image, button, name) {
  image.addEventListener("error", async () => {
    if (!(await goneMessage(image.src))) return;
    image.replaceWith(el("span", { class: "result-gone", text: "Original gone",
      title: "The file was moved, renamed or deleted since it was indexed" }));
    button.setAttribute("aria-label", `View ${name} (original gone)`);
  }, { once: true });
}

// Fields whose words name a photo rather than describe it: a hit found by them shows that, not a similarity
// (which ranks it, blended with the words, and reads as a bug beside the higher numbers of weaker hits below).
const NAMED_BY = { filename: "file name", folder: "folder", camera: "camera", lens: "lens", date: "date" };

function scoreLabel(hit) {
  const similarity = hit.similarity ?? null;
  const by = (hit.matched || []).filter((field) => field in NAMED_BY).map((field) => NAMED_BY[field]);
  if (by.length) {
    const title = `Matched by its ${by.join(" and ")}` + (similarity === null ? "" : `; similarity ${similarity.toFixed(2)}`);
    return el("span", { class: "score matched-by", text: by[0], title });
  }
  return similarity === null ? null : el("span", { class: "score", text: similarity.toFixed(2), title: "Similarity to the query" });
}

function tile(hit, byMonth) {
  const p = hit.payload || {};
  const name = p.filename || hit.id;
  const caption = p.caption || "";
  const fileDate = byMonth && p.date_source === "file";
  const image = el("img", { src: hit.thumbnail_url, alt: caption || name, loading: "lazy", decoding: "async" });
  const button = el("button", { type: "button", class: "result-button", "data-id": hit.id, "data-name": name,
    "aria-label": `View ${name}` }, image,
      el("span", { class: "result-caption", text: caption || name }),
      el("span", { class: "result-meta" },
        nameLabel(name),
        fileDate ? el("span", { class: "file-date", text: "file date",
          title: "The photo has no date of its own: this is the file's date" }) : null,
        scoreLabel(hit)));
  showGone(image, button, name);
  return el("li", { class: "result" }, button);
}

export class ResultList {
  constructor(root) {
    this.root = root;
    this.clear("browse");
  }

  clear(mode) {
    this.mode = mode;
    this.byMonth = mode === "browse"; // else the strong matches, then the weaker ones
    this.hits = [];
    this.group = null; // {key, list} the next tiles go into
    this.root.replaceChildren();
    this.root.dataset.mode = mode;
  }

  get length() { return this.hits.length; }

  indexOf(id) { return this.hits.findIndex((hit) => hit.id === id); }

  append(results) {
    for (const hit of results) {
      const key = this.byMonth ? monthKey(hit.payload || {}) : (hit.weak ? "weak" : "strong");
      if (!this.group || this.group.key !== key) this.startGroup(key);
      this.group.list.append(tile(hit, this.byMonth));
      this.hits.push(hit);
    }
  }

  startGroup(key) {
    const list = el("ul", { class: "grid" });
    const id = `group-${key}`;
    let heading = null;
    if (this.byMonth) {
      heading = el("h3", { class: "group-heading", id, text: monthLabel(key) });
    } else if (key === "weak") {
      heading = el("h3", { class: "group-heading weak-heading", id,
        text: this.hits.length ? "Weaker matches" : "No strong match: the closest ones" });
    }
    this.root.append(el("section", { class: "group", "data-group": key }, heading, list));
    this.group = { key, list };
  }

  remove(id) {
    const index = this.indexOf(id);
    if (index >= 0) this.hits.splice(index, 1);
    const button = $(`button[data-id="${CSS.escape(id)}"]`, this.root);
    if (!button) return;
    const group = button.closest("section");
    button.closest("li").remove();
    if (!$("li", group)) { // a month (or the strong matches) emptied: its heading goes too
      if (this.group && this.group.list.parentNode === group) this.group = null;
      group.remove();
    }
  }

  get strongCount() { return this.hits.filter((hit) => !hit.weak).length; }
}
