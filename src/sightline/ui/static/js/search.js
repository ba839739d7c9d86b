// Search page: by text, by image, or "more like this"; filters from the facets; a detail dialog per result.
// The address keeps the text query, so a reload (or a shared link) runs it again.

import { post } from "./api.js";
import { $, dropZone, el, guardWindowDrops, wireDialogClose } from "./dom.js";
import { plural } from "./format.js";
import { clearErrors, setBusy, showApiError, showError } from "./forms.js";
import { showDetail } from "./search-detail.js";
import { filtersOf, loadFacets, QueryImage } from "./search-query.js";
import { api, pages } from "./urls.js";

const DEFAULT_LIMIT = 24;

function resultItem(hit) {
  const p = hit.payload || {};
  const name = p.filename || hit.id;
  const caption = p.caption || "";
  return el("li", { class: "result" },
    el("button", { type: "button", class: "result-button", "data-id": hit.id, "aria-label": `Details of ${name}` },
      el("img", { src: hit.thumbnail_url, alt: caption || name, loading: "lazy", decoding: "async" }),
      el("span", { class: "result-caption", text: caption || name }),
      el("span", { class: "result-meta" },
        el("span", { class: "result-name", text: name }),
        el("span", { class: "score", text: hit.score.toFixed(3), title: "Similarity score" }))));
}

// {limit, threshold} from the form, or null once an error is shown next to its field.
function searchOptions(form) {
  const limit = Number(form.elements.limit.value || DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    showError(form, "limit", "Enter a whole number from 1 to 500.");
    return null;
  }
  const raw = form.elements.score_threshold.value.trim();
  const threshold = raw === "" ? null : Number(raw);
  if (threshold !== null && !Number.isFinite(threshold)) {
    showError(form, "score_threshold", "Enter a number, or leave it empty.");
    return null;
  }
  return { limit, threshold };
}

function imageSearch(form, collection, file, { limit, threshold }) {
  const data = new FormData();
  data.append("collection", collection);
  data.append("image", file, file.name);
  data.append("limit", String(limit));
  if (threshold !== null) data.append("score_threshold", String(threshold));
  const filters = filtersOf(form);
  if (filters) data.append("filters", JSON.stringify(filters));
  return post(api.searchImage, data);
}

// query: {text} or {point_id}, as the API takes them.
function querySearch(form, collection, query, { limit, threshold }) {
  const body = { collection, limit, filters: filtersOf(form), ...query };
  if (threshold !== null) body.score_threshold = threshold;
  return post(api.search, body);
}

class SearchPage {
  constructor(form) {
    this.form = form;
    this.collection = $("#search-collection");
    this.text = $("#search-text");
    this.results = $("#results");
    this.summary = $("#results-summary");
    this.dialog = $("#detail");
    this.image = new QueryImage();
    this.shown = new Map(); // id → the result shown, for its score in the detail view
    this.current = null; // {id, name} of the point in the detail dialog
  }

  showResults(list, label) {
    this.shown = new Map(list.map((hit) => [hit.id, hit]));
    this.summary.textContent = list.length ? `${plural(list.length, "image")} ${label}` : `No image matches ${label}.`;
    this.results.replaceChildren(...list.map(resultItem));
  }

  // kind: "image" (the query image), "text" ({text}) or "point" ({point_id, label}).
  async run(kind, { label: pointName, ...query } = {}) {
    clearErrors(this.form);
    const options = searchOptions(this.form);
    if (!options) return;
    const button = $("#search-submit");
    setBusy(button, true, "Searching…");
    this.summary.textContent = "Searching…";
    const collection = this.collection.value;
    try {
      if (kind === "image") {
        const answer = await imageSearch(this.form, collection, this.image.file, options);
        this.showResults(answer.results, `like ${this.image.file.name}`);
      } else {
        const answer = await querySearch(this.form, collection, query, options);
        this.showResults(answer.results, query.point_id ? `like ${pointName}` : `for “${query.text}”`);
      }
    } catch (err) {
      this.summary.textContent = "";
      showApiError(this.form, err, { filters: "_form" });
    } finally {
      setBusy(button, false);
    }
  }

  submit() {
    const text = this.text.value.trim();
    if (this.image.file) return this.run("image");
    if (!text) {
      clearErrors(this.form);
      return showError(this.form, "text", "Type a description, or drop an image to search by.");
    }
    history.replaceState(null, "", pages.search({ collection: this.collection.value, q: text }));
    return this.run("text", { text });
  }

  flagTestModels() {
    const option = this.collection.selectedOptions[0];
    $("#tiny-warning").hidden = !option || option.dataset.backend !== "tiny";
  }

  collectionChanged() {
    history.replaceState(null, "", pages.search({ collection: this.collection.value }));
    this.results.replaceChildren();
    this.summary.textContent = "";
    this.flagTestModels();
    loadFacets(this.form, this.collection.value);
  }

  async openDetail(id) {
    try {
      this.current = await showDetail(this.dialog, this.collection.value, id, this.shown.get(id));
    } catch (err) {
      showError(this.form, null, err.message);
    }
  }

  moreLikeThis() {
    if (!this.current) return;
    this.dialog.close();
    this.image.set(null);
    this.text.value = "";
    this.run("point", { point_id: this.current.id, label: this.current.name });
  }

  wireImageInput() {
    const input = $("#search-image");
    input.addEventListener("change", () => {
      if (input.files.length) this.image.set(input.files[0]);
      input.value = "";
    });
    dropZone($("#image-drop"), (files) => this.image.set(files[0]));
    $("#query-clear").addEventListener("click", () => { this.image.set(null); input.focus(); });
  }

  start() {
    wireDialogClose(this.dialog);
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.collection.addEventListener("change", () => this.collectionChanged());
    this.wireImageInput();
    this.results.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      if (button) this.openDetail(button.dataset.id);
    });
    $("#more-like-this").addEventListener("click", () => this.moreLikeThis());
    this.flagTestModels();
    loadFacets(this.form, this.collection.value);
    const q = new URLSearchParams(location.search).get("q");
    if (q) {
      this.text.value = q;
      this.run("text", { text: q });
    }
  }
}

export function initSearch() {
  const form = $("#search-form");
  if (!form) return;
  guardWindowDrops();
  new SearchPage(form).start();
}
