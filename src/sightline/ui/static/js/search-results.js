// The results of the photos page: a grid grouped by month when browsing, the strong matches then the
// weaker ones when searching; pages are appended as they load.

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

function tile(hit, mode) {
  const p = hit.payload || {};
  const name = p.filename || hit.id;
  const caption = p.caption || "";
  const fileDate = mode === "browse" && p.date_source === "file";
  return el("li", { class: "result" },
    el("button", { type: "button", class: "result-button", "data-id": hit.id, "aria-label": `View ${name}` },
      el("img", { src: hit.thumbnail_url, alt: caption || name, loading: "lazy", decoding: "async" }),
      el("span", { class: "result-caption", text: caption || name }),
      el("span", { class: "result-meta" },
        el("span", { class: "result-name", text: name }),
        fileDate ? el("span", { class: "file-date", text: "file date",
          title: "The photo has no date of its own: this is the file's date" }) : null,
        hit.similarity !== null && hit.similarity !== undefined
          ? el("span", { class: "score", text: hit.similarity.toFixed(2), title: "Similarity to the query" })
          : null)));
}

export class ResultList {
  constructor(root) {
    this.root = root;
    this.clear("browse");
  }

  clear(mode) {
    this.mode = mode;
    this.hits = [];
    this.group = null; // {key, list} the next tiles go into
    this.root.replaceChildren();
    this.root.dataset.mode = mode;
  }

  get length() { return this.hits.length; }

  indexOf(id) { return this.hits.findIndex((hit) => hit.id === id); }

  append(results) {
    for (const hit of results) {
      const key = this.mode === "browse" ? monthKey(hit.payload || {}) : (hit.weak ? "weak" : "strong");
      if (!this.group || this.group.key !== key) this.startGroup(key);
      this.group.list.append(tile(hit, this.mode));
      this.hits.push(hit);
    }
  }

  startGroup(key) {
    const list = el("ul", { class: "grid" });
    const id = `group-${key}`;
    let heading = null;
    if (this.mode === "browse") {
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
    if (button) button.closest("li").remove();
  }

  get strongCount() { return this.hits.filter((hit) => !hit.weak).length; }
}
