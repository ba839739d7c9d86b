// The photos page's inputs beyond the text: the filter choices (from the collection's facets), the folder
// tree, the months to jump to, and the query image.

import { get } from "./api.js";
import { $, $$, el } from "./dom.js";
import { formatName } from "./format.js";
import { showError } from "./forms.js";
import { monthLabel } from "./search-results.js";
import { api } from "./urls.js";

export async function loadFacets(form, collection, chosen) {
  const selects = $$("select[data-facet]", form);
  selects.forEach((select) => select.replaceChildren(el("option", { value: "", text: "Any" })));
  if (!collection) return;
  try {
    const facets = await get(api.facets(collection));
    selects.forEach((select) => {
      const shown = select.dataset.facet === "format" ? formatName : (value) => value;
      for (const { value, count } of facets[select.dataset.facet] || []) {
        select.append(el("option", { value, text: `${shown(value)} (${count})` }));
      }
      const wanted = chosen[select.dataset.facet];
      if (wanted && !$$("option", select).some((option) => option.value === wanted)) {
        select.append(el("option", { value: wanted, text: shown(wanted) }));
      }
      select.value = wanted || "";
    });
  } catch (err) {
    showError(form, null, `Filters unavailable: ${err.message}`);
  }
}

function folderNode(node, selected) {
  const button = el("button", { type: "button", class: "folder-button", "data-folder": node.path,
    "aria-pressed": node.path === selected ? "true" : "false", title: node.path },
  el("span", { class: "folder-name", text: node.name }), el("span", { class: "count", text: String(node.count) }));
  const children = node.children.length
    ? el("ul", {}, ...node.children.map((child) => folderNode(child, selected))) : null;
  return el("li", {}, button, children);
}

// The collection's folders as a tree of buttons (the root: "All folders").
export async function loadFolders(box, collection, selected) {
  if (!collection) return box.replaceChildren();
  try {
    const { root } = await get(api.folders(collection));
    if (!root) return box.replaceChildren(el("p", { class: "muted small", text: "No folders yet." }));
    const all = el("button", { type: "button", class: "folder-button", "data-folder": "",
      "aria-pressed": selected ? "false" : "true", title: root.path },
    el("span", { class: "folder-name", text: "All folders" }), el("span", { class: "count", text: String(root.count) }));
    box.replaceChildren(el("ul", { class: "tree" }, el("li", {}, all,
      el("ul", {}, ...root.children.map((child) => folderNode(child, selected))))));
  } catch (err) {
    box.replaceChildren(el("p", { class: "muted small", text: `Folders unavailable: ${err.message}` }));
  }
}

// The months with photos the filters (as the API takes them) keep, and their years; none when unavailable.
export async function fetchMonths(collection, filters) {
  try {
    return await get(api.months(collection, filters || {}));
  } catch {
    return { years: [], months: [] };
  }
}

// The "Jump to" menu: "Newest", then every month grouped by year, with its number of photos; `selected` chosen.
export function showMonths(select, timeline, selected) {
  select.replaceChildren(el("option", { value: "", text: "Newest" }));
  for (const year of timeline.years) {
    const months = timeline.months.filter((month) => month.key.startsWith(`${year.key}-`));
    select.append(el("optgroup", { label: `${year.key} (${year.count.toLocaleString()})` },
      ...months.map((month) => el("option", { value: month.key,
        text: `${monthLabel(month.key)} (${month.count.toLocaleString()})` }))));
  }
  if (selected && !$$("option", select).some((option) => option.value === selected)) {
    select.append(el("option", { value: selected, text: monthLabel(selected) }));
  }
  select.value = selected || "";
}

// The image to search by (dropped or chosen), with its preview.
const KEPT = "sightline.queryImage"; // the query image, kept for this tab so a reload searches by it again
const KEPT_MAX_BYTES = 2 * 1024 * 1024; // session storage holds a few MB: a bigger image is not kept

export class QueryImage {
  constructor() {
    this.file = null;
    this.previewUrl = null;
  }

  // The image of the last image search in this tab (null if none was kept).
  recall() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(KEPT) || "null");
      if (!kept) return null;
      const bytes = Uint8Array.from(atob(kept.data), (c) => c.charCodeAt(0)); // (the CSP refuses data: fetches)
      return new File([bytes], kept.name, { type: kept.type });
    } catch {
      return null;
    }
  }

  keep(file) {
    sessionStorage.removeItem(KEPT);
    if (!file || file.size > KEPT_MAX_BYTES) return;
    const reader = new FileReader();
    reader.onload = () => {
      const data = reader.result.slice(reader.result.indexOf(",") + 1); // base64, without the data: prefix
      try {
        sessionStorage.setItem(KEPT, JSON.stringify({ name: file.name, type: file.type, data }));
      } catch { /* storage full: a reload shows the photos instead */ }
    };
    reader.readAsDataURL(file);
  }

  set(file) {
    if (file !== this.file) this.keep(file);
    this.file = file;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = file ? URL.createObjectURL(file) : null;
    $("#query-image").hidden = !file;
    const preview = $("#query-preview");
    preview.hidden = false;
    // A browser shows no HEIC or RAW: the name alone stands for it rather than a broken picture.
    preview.onerror = () => { preview.hidden = true; };
    if (file) {
      preview.src = this.previewUrl;
      $("#query-name").textContent = file.name;
    } else {
      preview.removeAttribute("src");
    }
  }
}
