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

// A listing's group: the month, or for a query of facts alone ("2019"), after the photos that meet them by their
// own date, camera and format, one group of those that meet them only by their words (`matched`: a `2019 trip`
// folder), which the API lists last.
const BY_WORDS = "by-words";

function listingKey(hit) {
  return hit.matched && hit.matched.length ? BY_WORDS : monthKey(hit.payload || {});
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
  // a space where the name is cut would collapse between the two parts ("party 2023.jpg" read "party2023.jpg")
  const start = name.slice(0, cut).replace(/ $/, "\u00a0");
  const end = name.slice(cut).replace(/^ /, "\u00a0");
  return el("span", { class: "result-name", title: name },
    el("span", { class: "name-start", text: start }), el("span", { class: "name-end", text: end }));
}

// Why a photo's image failed to load when its original cannot be shown: `{ why, offline }`, the API's words and
// whether its source's folder is offline (a 404 on `source`) rather than the file gone (moved, renamed or
// deleted since it was indexed: a 404 on `path`); null for any other failure.
export async function whyGone(url) {
  try {
    await request("GET", url);
  } catch (err) {
    if (err.code === "NOT_FOUND" && (err.where === "path" || err.where === "source")) {
      return { why: err.message, offline: err.where === "source" };
    }
  }
  return null;
}

// A tile whose thumbnail fails because the original is gone, or its folder offline, says so instead of showing a
// broken image.
function showGone(image, button, name) {
  image.addEventListener("error", async () => {
    const gone = await whyGone(image.src);
    if (!gone) return;
    const said = gone.offline ? "Folder offline" : "Original gone";
    image.replaceWith(el("span", { class: "result-gone", text: said, title: gone.why }));
    button.setAttribute("aria-label", `View ${name} (${said.toLowerCase()})`);
  }, { once: true });
}

// Fields whose words name a photo rather than describe it, and the short word a card shows beside its similarity.
const NAMED_BY = { filename: ["file name", "name"], folder: ["folder", "folder"], camera: ["camera", "camera"],
  lens: ["lens", "lens"], date: ["date", "date"] };

// Why a card is there, shown and in words (its tooltip and its button's description); null when nothing says (a
// listing's photo). A hit its words found (`matched`: a file name, a folder…) shows them instead of its similarity
// only when the words are what made it a strong match: a strong hit (not `weak`) whose similarity alone is under
// the answer's `strongFrom` (that similarity, which ranks it blended with the words, read as a bug beside the higher
// numbers of weaker hits below). Else its similarity, the field beside it ("0.58 · name": `a dog` finds
// dog_summer.jpg by its picture; "0.27 · folder": a weak hit its folder's name only orders among the weak).
function scoreWords(hit, strongFrom) {
  const similarity = hit.similarity ?? null;
  const number = similarity === null ? "" : similarity.toFixed(2);
  const fields = (hit.matched || []).filter((field) => field in NAMED_BY);
  if (!fields.length) {
    return similarity === null ? null : { text: number, words: `Similarity to the query: ${number}` };
  }
  const names = fields.map((field) => NAMED_BY[field][0]).join(" and ");
  const strongAlone = similarity !== null && strongFrom !== null && strongFrom !== undefined && similarity >= strongFrom;
  if (strongAlone || (hit.weak && similarity !== null)) {
    return { text: `${number} · ${NAMED_BY[fields[0]][1]}`, words: `Similarity ${number}; also matched by its ${names}`,
      byWords: true };
  }
  return { text: NAMED_BY[fields[0]][0], words: `Matched by its ${names}${similarity === null ? "" : `; similarity ${number}`}`,
    byWords: true };
}

function tile(hit, byMonth, strongFrom) {
  const p = hit.payload || {};
  const name = p.filename || hit.id;
  const caption = p.caption || "";
  const fileDate = byMonth && p.date_source === "file";
  const why = scoreWords(hit, strongFrom);
  const whyId = why ? `why-${hit.id}` : null;
  const image = el("img", { src: hit.thumbnail_url, alt: caption || name, loading: "lazy", decoding: "async" });
  const button = el("button", { type: "button", class: "result-button", "data-id": hit.id, "data-name": name,
    "aria-label": `View ${name}`, "aria-describedby": whyId }, image,
      el("span", { class: "result-caption", text: caption || name }),
      el("span", { class: "result-meta" },
        nameLabel(name),
        fileDate ? el("span", { class: "file-date", text: "file date",
          title: "The photo has no date of its own: this is the file's date" }) : null,
        why ? el("span", { class: why.byWords ? "score matched-by" : "score", text: why.text, title: why.words }) : null),
      // the tooltip's words for keyboard, touch and screen-reader users: the button's description (its label is
      // the selection's to change, see search-select.js)
      why ? el("span", { class: "visually-hidden", id: whyId, text: why.words }) : null);
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

  // `strongFrom`: the similarity from which the answer calls a hit strong (null for a listing).
  append(results, strongFrom = null) {
    for (const hit of results) {
      const key = this.byMonth ? listingKey(hit) : (hit.weak ? "weak" : "strong");
      if (!this.group || this.group.key !== key) this.startGroup(key);
      this.group.list.append(tile(hit, this.byMonth, strongFrom));
      this.hits.push(hit);
    }
  }

  startGroup(key) {
    const list = el("ul", { class: "grid" });
    const id = `group-${key}`;
    let heading = null;
    if (key === BY_WORDS) {
      heading = el("h3", { class: "group-heading", id, text: "Found by their folder or file names" });
    } else if (this.byMonth) {
      heading = el("h3", { class: "group-heading", id, text: monthLabel(key) });
    } else if (key === "weak") {
      heading = el("h3", { class: "group-heading weak-heading", id,
        text: this.hits.length ? "Weaker matches" : "No strong match: the closest ones" });
    }
    this.root.append(el("section", { class: "group", "data-group": key }, heading, list));
    this.group = { key, list };
  }

  // The card of the photo `id`, or null.
  button(id) {
    return $(`button[data-id="${CSS.escape(id)}"]`, this.root);
  }

  remove(id) {
    const index = this.indexOf(id);
    if (index >= 0) this.hits.splice(index, 1);
    const button = this.button(id);
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
