// Selecting photos among the results (a click toggles one, Shift-click a range, "Select all results" every one
// the query finds) and making a new collection of them: the API's `from_points` copies their vectors in the
// background (its progress shown in the status line), nothing is embedded again. The tiles stay buttons, pressed or not, so the keyboard selects as the mouse does.

import { get } from "./api.js";
import { $, $$, el } from "./dom.js";
import { plural } from "./format.js";
import { clearErrors, setBusy, showApiError } from "./forms.js";
import { collectionFromPoints } from "./from-points.js";
import { api, pages } from "./urls.js";

export const SELECT_ALL_LIMIT = 2000; // results "Select all" loads: a search pages no deeper

export class Selection {
  // list: the ResultList; host: {collection(), loadMore() → Promise<bool>, hasMore(), created(info)}
  constructor(list, host) {
    this.list = list;
    this.host = host;
    this.ids = new Set();
    this.anchor = null; // the last tile clicked: Shift-click selects from it
    this.active = false;
    this.note = "";
  }

  setActive(on) {
    this.active = on;
    $("#select-mode").setAttribute("aria-pressed", String(on));
    $("#select-mode").textContent = on ? "Done selecting" : "Select";
    $("#selection-bar").hidden = !on;
    this.list.root.dataset.selecting = String(on);
    if (!on) this.clear();
    this.render();
  }

  // A click on a tile while selecting: toggles it; with Shift, selects every tile from the last one clicked.
  click(id, shift) {
    const from = shift && this.anchor !== null ? this.list.indexOf(this.anchor) : -1;
    const to = this.list.indexOf(id);
    if (from >= 0 && to >= 0) {
      const [low, high] = from < to ? [from, to] : [to, from];
      this.list.hits.slice(low, high + 1).forEach((hit) => this.ids.add(hit.id));
    } else if (this.ids.has(id)) {
      this.ids.delete(id);
    } else {
      this.ids.add(id);
    }
    this.anchor = id;
    this.note = "";
    this.render();
  }

  async selectAll() {
    const button = $("#select-all");
    setBusy(button, true, "Loading every result…");
    try {
      let more = true;
      while (more && this.list.length < SELECT_ALL_LIMIT) more = await this.host.loadMore();
    } finally {
      setBusy(button, false);
    }
    this.list.hits.slice(0, SELECT_ALL_LIMIT).forEach((hit) => this.ids.add(hit.id));
    this.note = this.list.length > SELECT_ALL_LIMIT || this.host.hasMore() ? ` (the first ${SELECT_ALL_LIMIT.toLocaleString()})` : "";
    this.render();
  }

  clear() {
    this.ids.clear();
    this.anchor = null;
    this.note = "";
    this.render();
  }

  // A photo gone from the results (removed from the index).
  forget(id) {
    this.ids.delete(id);
    this.render();
  }

  // The tiles' pressed state and labels, the count and the create button, after any change or a new page.
  render() {
    $$("button[data-id]", this.list.root).forEach((button) => {
      const name = button.dataset.name;
      if (this.active) {
        button.setAttribute("aria-pressed", String(this.ids.has(button.dataset.id)));
        button.setAttribute("aria-label", `Select ${name}`);
      } else {
        button.removeAttribute("aria-pressed");
        button.setAttribute("aria-label", `View ${name}`);
      }
    });
    const count = this.ids.size;
    $("#selection-count").textContent = count
      ? `${plural(count, "photo")} selected${this.note}.`
      : "No photo selected: click photos (Shift-click for a range).";
    $("#selection-create").disabled = count === 0;
  }

  async create(event) {
    event.preventDefault();
    const form = $("#selection-new");
    clearErrors(form);
    const name = $("#selection-name").value.trim();
    const status = $("#selection-status");
    const button = $("#selection-create");
    setBusy(button, true, "Creating…");
    status.textContent = "";
    try {
      const made = await collectionFromPoints(name, this.host.collection(), Array.from(this.ids), status);
      status.replaceChildren(`Created ${made.collection} with ${plural(made.points_count, "photo")}. `,
        el("a", { href: pages.search({ collection: made.collection }), text: `Open ${made.collection}` }));
      $("#selection-name").value = "";
      this.host.created(await get(api.collection(made.collection)));
    } catch (err) {
      status.textContent = "";
      showApiError(form, err, { name: "name", from_points: "name", "from_points.point_ids": "name" });
    } finally {
      setBusy(button, false);
      button.disabled = this.ids.size === 0;
    }
  }

  wire() {
    $("#select-mode").addEventListener("click", () => this.setActive(!this.active));
    $("#select-all").addEventListener("click", () => this.selectAll());
    $("#select-none").addEventListener("click", () => this.clear());
    $("#selection-new").addEventListener("submit", (event) => this.create(event));
    document.addEventListener("keydown", (event) => { // Esc leaves selecting (unless a dialog takes it)
      if (event.key === "Escape" && this.active && !$("dialog[open]")) this.setActive(false);
    });
  }
}
