// The photos page: the whole collection newest first (grouped by month, a folder tree, every filter), or a
// search by text, by image or "more like this" — one page at a time, more on scroll. The address describes
// the view (see search-state.js), so a reload or a shared link shows the same.

import { get, post } from "./api.js";
import { $, $$, dropZone, el, guardWindowDrops } from "./dom.js";
import { plural } from "./format.js";
import { clearErrors, setBusy, showApiError } from "./forms.js";
import { Viewer } from "./search-detail.js";
import { fetchMonths, loadFacets, loadFolders, QueryImage, showMonths } from "./search-query.js";
import { monthLabel, ResultList } from "./search-results.js";
import { randomPhoto, surpriseView } from "./review-common.js";
import { rememberCollection } from "./remembered.js";
import { Selection } from "./search-select.js";
import { apiFilters, chooseCollection, datesProblem, filterChips, modeOf, stateFromUrl, urlOfState, withoutFact }
  from "./search-state.js";
import { api } from "./urls.js";

const PAGE = { browse: 100, text: 30, similar: 30, image: 30 };
const NEEDS_A_DATE = ["after", "before"];

class PhotosPage {
  constructor(form) {
    this.form = form;
    this.collection = $("#search-collection");
    this.text = $("#search-text");
    this.summary = $("#results-summary");
    this.more = $("#load-more");
    this.image = new QueryImage();
    this.list = new ResultList($("#results"));
    this.hasMonths = false; // there are months to jump to
    this.monthsOf = null; // the collection and filters the "Jump to" menu lists the months of
    this.viewer = new Viewer($("#detail"), this.list, {
      collection: () => this.state.collection,
      loadMore: () => this.loadMore(),
      hasMore: () => Boolean(this.cursor),
      moreLikeThis: (id, name) => this.go({ q: "", like: id, likeName: name },
        { dropImage: true, replace: Boolean(history.state?.viewer) }),
      removed: (id, name) => this.removed(id, name),
      shown: (id) => this.viewerShown(id),
      closed: () => this.viewerClosed(),
    });
    this.selection = new Selection(this.list, {
      collection: () => this.state.collection,
      loadMore: () => this.loadMore(),
      hasMore: () => Boolean(this.cursor),
      created: (info) => this.collectionCreated(info),
    });
    this.state = stateFromUrl(location.search);
    this.answer = null; // the latest page's answer
    this.cursor = null;
    this.loading = null;
    this.run = 0; // the latest query's number: pages of an older one are dropped
  }

  // One page of the current query, from `this.cursor`; a date filter no search can take is refused here.
  request() {
    const s = this.state;
    if (datesProblem(s.filters)) return Promise.reject(datesProblem(s.filters));
    const from = this.mode === "browse" ? s.from : "";
    const body = { collection: s.collection, limit: PAGE[this.mode], filters: apiFilters(s.filters, from) };
    if (this.cursor) body.cursor = this.cursor;
    if (this.mode === "image") {
      const data = new FormData();
      data.append("collection", s.collection);
      data.append("image", this.image.file, this.image.file.name);
      data.append("limit", String(body.limit));
      if (body.filters) data.append("filters", JSON.stringify(body.filters));
      if (this.cursor) data.append("cursor", this.cursor);
      return post(api.searchImage, data);
    }
    if (this.mode === "text") body.text = s.q;
    if (this.mode === "similar") body.point_id = s.like;
    return post(api.search, body);
  }

  // Show the view `this.state` describes, from its first page.
  async start() {
    const run = ++this.run;
    clearErrors(this.form);
    this.mode = modeOf(this.state, Boolean(this.image.file));
    this.cursor = null;
    this.total = null;
    this.loading = null; // a page of the previous view still on its way is dropped when it lands
    this.list.clear(this.mode);
    this.selection.clear();
    $("#removed-note").textContent = "";
    $("#model-limits").hidden = true;
    this.renderChips([]);
    this.more.hidden = true;
    this.summary.textContent = this.mode === "browse" ? "Loading…" : "Searching…";
    this.loadMonths();
    const button = $("#search-submit");
    setBusy(button, true, "Searching…");
    try {
      await this.loadPage(run);
    } finally {
      setBusy(button, false);
    }
  }

  async loadPage(run) {
    let answer;
    try {
      answer = await this.request();
    } catch (err) {
      if (run !== this.run) return;
      this.setTitle({ failed: true }); // what was asked (not what the last answer was for), and that it failed
      this.summary.textContent = "";
      showApiError(this.form, err, { filters: "filters", cursor: "_form", point_id: "_form" });
      return;
    }
    if (run !== this.run) return;
    if (answer.only_facts) this.list.byMonth = true; // "2019", "canon": a listing, by month as browsing is
    this.list.append(answer.results, answer.strong_from ?? null);
    this.selection.render();
    this.answer = answer;
    this.cursor = answer.next_cursor;
    this.more.hidden = !this.cursor;
    if (answer.total !== null && answer.total !== undefined) this.total = answer.total;
    this.describe(answer);
  }

  // Next page: false when there is none.
  async loadMore() {
    if (!this.cursor) return false;
    if (!this.loading) {
      this.loading = this.loadPage(this.run).finally(() => { this.loading = null; });
    }
    await this.loading;
    return true;
  }

  // The heading: what is shown, or (`failed`) the search that could not be made.
  setTitle({ failed = false } = {}) {
    const s = this.state;
    const image = this.image.file && this.image.file.name, like = s.likeName || "this photo";
    const titles = failed
      ? { browse: "All photos", text: `Search for “${s.q}” failed`, similar: `Search like ${like} failed`,
        image: `Search by ${image} failed` }
      : { browse: "All photos", text: `“${s.q}”`, similar: `Like ${like}`, image: `Like ${image}` };
    const title = $("#results-title");
    title.textContent = titles[this.mode];
    title.title = titles[this.mode]; // a long query is cut short on screen (app.css .results-title)
  }

  describe(answer) {
    const s = this.state;
    $("#jump-field").hidden = this.mode !== "browse" || !this.hasMonths;
    this.setTitle();
    if (answer.understood) this.renderChips(answer.understood);
    if (answer.collection_empty) {
      this.summary.replaceChildren("This collection is empty: ",
        el("a", { href: `/ingest?collection=${encodeURIComponent(s.collection)}`, text: "ingest photos" }), " into it.");
    } else if (this.mode === "browse") {
      const total = this.total ?? this.list.length;
      const from = s.from ? ` from ${monthLabel(s.from)} back` : "";
      this.summary.textContent = total ? `${plural(total, "photo")}, newest first${from}` : "No photo matches these filters.";
    } else if (answer.only_facts) {
      const known = this.total !== null && this.total !== undefined;
      const count = known ? this.total : this.list.length;
      const soFar = !known && this.cursor ? " so far" : "";
      this.summary.textContent = count ? `${plural(count, "photo")} ${count === 1 ? "matches" : "match"}${soFar}, newest first`
        : "No photo matches.";
    } else {
      const strong = this.list.strongCount;
      this.summary.textContent = this.list.length === 0 ? "No image matches."
        : strong ? `${this.strongText(strong)}${this.list.length > strong ? ", then weaker ones" : ""}`
          : this.noStrongMatch(answer);
    }
    $("#model-limits").hidden = !this.outOfModelReach(answer);
  }

  // A text search the `lite` models found no strong match for: maybe a person, place or scene, which they do not
  // know (ImageNet's everyday objects only).
  outOfModelReach(answer) {
    const option = this.collection.selectedOptions[0];
    return this.mode === "text" && !answer.only_facts && !answer.collection_empty && this.list.strongCount === 0
      && Boolean(option) && option.dataset.backend === "lite";
  }

  // "30 strong matches", or "30+" while every hit loaded is strong and the next page may hold more.
  strongText(strong) {
    if (this.cursor && this.list.length === strong) return `${strong}+ strong matches`;
    return plural(strong, "strong match", "strong matches");
  }

  // No hit is a strong match: with facts ("dog 2019"), say which photos were looked among.
  noStrongMatch(answer) {
    const facts = (answer.understood || []).map((fact) => fact.text).join(" ");
    if (!facts || !answer.meaning) return "No strong match; the closest photos follow.";
    return `No ${facts} photo looks like “${answer.meaning}”; the closest ones follow.`;
  }

  // A photo removed in the viewer: the counts on the page (results, months, folders, the collection's) follow.
  removed(id, name) {
    this.selection.forget(id);
    if (this.total !== null && this.total !== undefined) this.total = Math.max(0, this.total - 1);
    if (this.answer) this.describe(this.answer);
    $("#removed-note").textContent = `Removed ${name} from the index.`; // a live region: said as it is shown
    this.monthsOf = null;
    this.loadMonths();
    loadFolders($("#folders"), this.state.collection, this.state.filters.folder || "");
    const option = this.collection.selectedOptions[0];
    get(api.collection(this.state.collection)).then((info) => {
      if (option) option.textContent = `${info.name} (${info.points_count})`;
    }).catch(() => {}); // the count stays as it was; the rest of the page is right
  }

  // A collection made from the selection: it can be chosen at once.
  collectionCreated(info) {
    const backend = (info.params && info.params.metadata && info.params.metadata.backend) || "";
    this.collection.append(el("option", { value: info.name, "data-backend": backend,
      text: `${info.name} (${info.points_count})` }));
  }

  renderChips(understood) {
    const chips = filterChips(this.state.filters, treeName).map(({ key, label }) => ({ label,
      drop: () => { delete this.state.filters[key]; } }));
    if (this.state.from && this.mode === "browse") {
      chips.push({ label: `From ${monthLabel(this.state.from)} back`, drop: () => { this.state.from = ""; } });
    }
    if (this.state.like) chips.push({ label: `Like ${this.state.likeName || "a photo"}`, drop: () => { this.state.like = ""; } });
    for (const fact of understood) {
      // where a photo may meet it ("the photo's date, or its folder and file names"): a `2019 trip` folder does
      const where = fact.searched_in ? `Searched in ${fact.searched_in}` : null;
      chips.push({ label: `${fact.kind}: ${fact.text}`, understood: true, where,
        drop: () => { this.state.q = withoutFact(this.state.q, fact.text); } });
    }
    $("#chips").replaceChildren(...chips.map((chip) => el("li", { class: chip.understood ? "chip understood" : "chip" },
      el("span", { text: chip.label, title: chip.where }),
      chip.where ? el("span", { class: "visually-hidden", text: ` (${chip.where.toLowerCase()})` }) : null,
      el("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${chip.label}`,
        "data-chip": chip.label }, "×"))));
    this.chipActions = new Map(chips.map((chip) => [chip.label, chip.drop]));
  }

  // Change the view: `changes` to the state, then a new address and the first page.
  go(changes, { dropImage = false, replace = false } = {}) {
    Object.assign(this.state, { open: "" }, changes);
    if (dropImage) this.image.set(null);
    this.syncForm();
    const url = urlOfState(this.state);
    const entry = { queryImage: Boolean(this.image.file) }; // an image is not in the address: its entry says so
    if (replace || url === location.pathname + location.search) history.replaceState(entry, "", url);
    else history.pushState(entry, "", url);
    return this.start();
  }

  // The viewer's photo in the address. Opening the viewer is a step of the history (Back closes it, over the
  // same results); stepping through the photos is not.
  viewerShown(id) {
    const opening = !this.state.open;
    this.state.open = id;
    const url = urlOfState(this.state);
    if (opening) history.pushState({ ...history.state, viewer: true }, "", url);
    else history.replaceState(history.state, "", url);
  }

  // The viewer closed on the page (Close, Esc, a removal): its step of the history is taken back.
  viewerClosed() {
    if (!this.state.open) return;
    this.state.open = "";
    if (history.state?.viewer) history.back(); // its popstate finds the same view: nothing more to do
    else history.replaceState(history.state, "", urlOfState(this.state));
  }

  // Back or Forward: over the same view the viewer alone opens or closes; another view is shown afresh.
  async returned() {
    const next = stateFromUrl(location.search);
    const image = history.state?.queryImage ? this.image.file || this.image.recall() : null;
    const view = (state) => urlOfState({ ...state, open: "" });
    const same = image === this.image.file && view(next) === view(this.state);
    const collectionChanged = next.collection !== this.state.collection;
    this.state = next;
    if (!same) {
      this.viewer.closeQuietly();
      this.image.set(image);
      if (collectionChanged) await this.showCollection();
      this.syncForm();
      await this.start();
    }
    if (!next.open) this.viewer.closeQuietly();
    else if (next.open !== this.viewer.current?.id || !this.viewer.dialog.open) {
      this.viewer.open(next.open).catch((err) => showApiError(this.form, err));
    }
  }

  // "Surprise me": a random photo of the collection, opened, with the photos like it around it.
  async surprise(button) {
    setBusy(button, true, "Picking…");
    try {
      const photo = await randomPhoto(this.state.collection);
      if (!photo) return;
      await this.go(surpriseView(this.state.collection, photo), { dropImage: true });
      await this.viewer.open(photo.id);
    } catch (err) {
      showApiError(this.form, err);
    } finally {
      setBusy(button, false);
    }
  }

  formFilters() {
    const e = this.form.elements;
    const filters = { after: e.taken_after.value, before: e.taken_before.value, camera: e.camera.value,
      format: e.format.value, folder: this.state.filters.folder || "" };
    return Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
  }

  syncForm() {
    const e = this.form.elements;
    this.text.value = this.state.q;
    e.taken_after.value = this.state.filters.after || "";
    e.taken_before.value = this.state.filters.before || "";
    e.camera.value = this.state.filters.camera || "";
    e.format.value = this.state.filters.format || "";
    $("#filters").open = $("#filters").open || NEEDS_A_DATE.some((key) => this.state.filters[key]);
    if ($$("#jump option").some((option) => option.value === this.state.from)) $("#jump").value = this.state.from;
    markFolder(this.state.filters.folder || "");
  }

  submit() {
    const q = this.text.value.trim();
    return this.go({ q, like: q ? "" : this.state.like, from: q ? "" : this.state.from, filters: this.formFilters() },
      { dropImage: Boolean(q) });
  }

  // Another collection: the query (its text or image) runs there; a photo to look like and the filters, which
  // name the other collection's photos, folders and cameras, are dropped.
  collectionChanged() {
    $("#unknown-collection").hidden = true;
    this.state = { collection: this.collection.value, q: this.text.value.trim(), like: "", likeName: "", from: "",
      open: "", filters: {} };
    if (this.state.q) this.image.set(null);
    this.showCollection();
    this.go({});
  }

  // What follows the state's collection: the menu, its links, the test-models warning, the filters' choices and
  // the folders (a promise: once the choices are there).
  showCollection() {
    const name = this.state.collection;
    this.collection.value = name;
    rememberCollection(name);
    $$("[data-collection-href]").forEach((link) => {
      link.href = link.dataset.collectionHref.replace("{name}", encodeURIComponent(name));
    });
    this.flagTestModels();
    loadFolders($("#folders"), name, this.state.filters.folder || "");
    return loadFacets(this.form, name, this.state.filters);
  }

  // The "Jump to" menu: every month with photos the filters keep (loaded again when they change).
  async loadMonths() {
    const filters = apiFilters(this.state.filters) || {};
    const key = JSON.stringify([this.state.collection, filters]);
    if (this.mode !== "browse" || !this.state.collection || key === this.monthsOf) return;
    this.monthsOf = key;
    const timeline = await fetchMonths(this.state.collection, filters);
    if (key !== this.monthsOf) return; // the filters changed meanwhile
    showMonths($("#jump"), timeline, this.state.from);
    this.hasMonths = timeline.months.length > 0;
    $("#jump-field").hidden = this.mode !== "browse" || !this.hasMonths;
  }

  flagTestModels() {
    const option = this.collection.selectedOptions[0];
    $("#tiny-warning").hidden = !option || option.dataset.backend !== "tiny";
  }

  wire() {
    this.viewer.wire();
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.collection.addEventListener("change", () => this.collectionChanged());
    for (const name of ["taken_after", "taken_before", "camera", "format"]) {
      this.form.elements[name].addEventListener("change", () => this.submit());
    }
    $("#results").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      if (!button) return;
      if (this.selection.active) this.selection.click(button.dataset.id, event.shiftKey);
      else this.viewer.open(button.dataset.id).catch((err) => showApiError(this.form, err));
    });
    this.selection.wire();
    $("#chips").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-chip]");
      if (!button) return;
      this.chipActions.get(button.dataset.chip)();
      this.go({});
    });
    $("#folders").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-folder]");
      if (button) this.go({ filters: { ...this.state.filters, folder: button.dataset.folder } });
    });
    $("#jump").addEventListener("change", (event) => {
      this.go({ from: event.target.value }).then(() => $("#results-heading").scrollIntoView());
    });
    this.more.addEventListener("click", () => this.loadMore());
    $("#surprise").addEventListener("click", (event) => this.surprise(event.currentTarget));
    // More loads as the end comes into view; past the strong matches of a search, only on "Load more".
    new IntersectionObserver((entries) => {
      const weakShown = this.mode !== "browse" && this.list.length > this.list.strongCount;
      if (entries.some((entry) => entry.isIntersecting) && this.list.length && !this.loading && !weakShown) {
        this.loadMore();
      }
    }, { rootMargin: "300px" }).observe($("#results-end"));
    window.addEventListener("popstate", () => this.returned());
    this.wireImageInput();
  }

  wireImageInput() {
    const input = $("#search-image");
    const chosen = (file) => { this.image.set(file); this.go({ q: "", like: "" }); };
    input.addEventListener("change", () => {
      if (input.files.length) chosen(input.files[0]);
      input.value = "";
    });
    dropZone($("#image-drop"), (files) => chosen(files[0]));
    $("#query-clear").addEventListener("click", () => { this.image.set(null); this.go({}); input.focus(); });
  }

  async init() {
    // On a phone the folder tree would fill the first screen: folded, the photos come first.
    if (matchMedia("(max-width: 760px)").matches) $("#folder-tree").open = false;
    const names = $$("option", this.collection).map((option) => option.value);
    const { collection, unknown } = chooseCollection(this.state.collection, names, this.collection.value);
    this.state.collection = collection;
    $("#unknown-collection").hidden = !unknown;
    $("#unknown-collection").textContent = unknown ? `Collection '${unknown}' does not exist.` : "";
    this.wire();
    const typed = this.text.value; // typed while the page loaded: kept, not wiped by the address's empty query
    await this.showCollection();
    this.syncForm();
    if (!this.state.q && !this.text.value) this.text.value = typed;
    if (history.state?.queryImage) this.image.set(this.image.recall()); // a reload of an image search
    history.replaceState({ ...history.state, queryImage: Boolean(this.image.file) }, "", urlOfState(this.state));
    const opened = this.state.open;
    await this.start();
    if (opened) this.viewer.open(opened).catch((err) => showApiError(this.form, err));
  }
}

// A folder's name as the tree shows it (null while the tree does not).
function treeName(path) {
  const button = $$("#folders button[data-folder]").find((node) => node.dataset.folder === path);
  return button ? $(".folder-name", button).textContent : null;
}

// The selected folder of the tree, marked.
function markFolder(selected) {
  document.querySelectorAll("#folders button[data-folder]").forEach((button) => {
    button.setAttribute("aria-pressed", button.dataset.folder === selected ? "true" : "false");
  });
}

export function initSearch() {
  const form = $("#search-form");
  if (!form) return;
  guardWindowDrops();
  new PhotosPage(form).init();
}
