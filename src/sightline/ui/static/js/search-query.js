// The search form's inputs beyond the text: filters (choices from the collection's facets) and the query image.

import { get } from "./api.js";
import { $, $$, el } from "./dom.js";
import { showError } from "./forms.js";
import { api } from "./urls.js";

export async function loadFacets(form, collection) {
  const selects = $$("select[data-facet]", form);
  selects.forEach((select) => select.replaceChildren(el("option", { value: "", text: "Any" })));
  if (!collection) return;
  try {
    const facets = await get(api.facets(collection));
    selects.forEach((select) => {
      for (const { value, count } of facets[select.dataset.facet] || []) {
        select.append(el("option", { value, text: `${value} (${count})` }));
      }
    });
  } catch (err) {
    showError(form, null, `Filters unavailable: ${err.message}`);
  }
}

// The filters as the API takes them, or null for none.
export function filtersOf(form) {
  const out = {};
  const after = form.elements.taken_after.value;
  const before = form.elements.taken_before.value;
  // Dates without a zone: EXIF times without an offset are stored as UTC, so compare in UTC too.
  if (after) out.taken_after = `${after}T00:00:00Z`;
  if (before) out.taken_before = `${before}T23:59:59.999Z`;
  for (const key of ["camera", "folder", "format"]) {
    const value = form.elements[key].value;
    if (value) out[key] = value;
  }
  return Object.keys(out).length ? out : null;
}

// The image to search by (dropped or chosen), with its preview.
export class QueryImage {
  constructor() {
    this.file = null;
    this.previewUrl = null;
  }

  set(file) {
    this.file = file;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = file ? URL.createObjectURL(file) : null;
    $("#query-image").hidden = !file;
    if (file) {
      $("#query-preview").src = this.previewUrl;
      $("#query-name").textContent = file.name;
    } else {
      $("#query-preview").removeAttribute("src");
    }
  }
}
