// The photo viewer: the photo full size (a JPEG rendition for HEIC, RAW and TIFF), zoomable, ← → through the
// results (loading more at the end), Esc closes; its details in words, the technical ones folded away.

import { del, get } from "./api.js";
import { $, el, openDialog, wireDialogClose } from "./dom.js";
import { formatName } from "./format.js";
import { setBusy } from "./forms.js";
import { whyGone } from "./search-results.js";
import { api } from "./urls.js";

const ZOOMS = [1, 1.5, 2, 3, 4];

// The facts as the API words them; an image format as people write it ("JPEG").
function factNodes(facts) {
  return facts.flatMap(({ label, value }) => [el("dt", { text: label }),
    el("dd", { text: label === "Format" ? formatName(value) : value })]);
}

export class Viewer {
  // list: the ResultList; host: {collection(), loadMore() → Promise<bool>, hasMore() → bool, moreLikeThis(id, name),
  // removed(id, name), shown(id), closed()}: `shown` and `closed` keep the address in step with the photo on screen
  // (`closed`: closed on the page, not by `closeQuietly`).
  constructor(dialog, list, host) {
    this.dialog = dialog;
    this.list = list;
    this.host = host;
    this.index = -1;
    this.current = null; // {id, name}
    this.zoom = null; // null: fit the screen; else a scale of the full size
    this.stage = $("#viewer-stage");
    this.image = $("#detail-image");
    this.quiet = false; // the coming "close" event is of closeQuietly
  }

  // Closed by the page (the address changed already, or will): the host is not told.
  closeQuietly() {
    if (!this.dialog.open) return;
    this.quiet = true;
    this.dialog.close();
  }

  async open(id) {
    this.index = this.list.indexOf(id);
    await this.show(id);
    if (this.dialog.open) return;
    openDialog(this.dialog);
    // Not on its first button, "Previous photo", which means nothing at "1 of N": on Close (the arrows step).
    $("[data-close]", this.dialog).focus();
  }

  async show(id) {
    const detail = await get(api.point(this.host.collection(), id));
    const p = detail.payload || {};
    const name = p.filename || detail.id;
    this.current = { id: detail.id, name };
    this.host.shown(detail.id);
    $("#detail-title").textContent = name;
    $("#detail-position").textContent = this.index >= 0 ? `${this.index + 1} of ${this.list.length}` : "";
    this.markEnds();
    this.setZoom(null);
    this.setGone(detail.original_gone ? { why: detail.original_gone, offline: detail.original_offline } : null);
    // A gone original's picture is not asked for: its 404 is known, and each ask would be a console error.
    if (detail.original_gone) this.image.removeAttribute("src");
    else this.image.src = detail.view_url;
    this.image.alt = p.caption || name;
    $("#detail-caption").textContent = p.caption || "";
    $("#detail-original").href = detail.original_url;
    $("#detail-facts").replaceChildren(...factNodes(detail.facts || []));
    $("#detail-technical").replaceChildren(...factNodes(detail.technical || []));
    this.resetRemove();
  }

  // At the first photo "Previous" does nothing, at the last (no page left to load) "Next": said, not hidden, and
  // still focusable (a disabled button would drop the focus out of the dialog).
  markEnds() {
    const last = this.index >= this.list.length - 1 && !this.host.hasMore();
    $("#viewer-prev").setAttribute("aria-disabled", String(this.index <= 0));
    $("#viewer-next").setAttribute("aria-disabled", String(this.index >= 0 && last));
  }

  async step(delta) {
    let index = this.index + delta;
    if (index >= this.list.length && !(await this.host.loadMore())) return;
    if (index < 0 || index >= this.list.length) return;
    this.index = index;
    await this.show(this.list.hits[index].id);
  }

  setZoom(zoom) {
    this.zoom = zoom;
    this.stage.dataset.zoom = zoom === null ? "fit" : "scaled";
    $("#viewer-zoom").textContent = zoom === null ? "Fit" : `${Math.round(zoom * 100)} %`;
    this.image.style.width = zoom === null ? "" : `${Math.round(this.image.naturalWidth * zoom)}px`;
  }

  zoomBy(direction) {
    if (this.zoom === null) return this.setZoom(direction > 0 ? 1 : null);
    const at = ZOOMS.indexOf(this.zoom) + direction;
    return this.setZoom(at < 0 ? null : ZOOMS[Math.min(at, ZOOMS.length - 1)]);
  }

  // The original cannot be shown (`gone`: `{ why, offline }`, see whyGone) or can (null): said in place of the
  // picture; the download is hidden. A gone file comes with the way to take the photo out of the index; a photo
  // whose folder is offline waits for it.
  setGone(gone) {
    $("#detail-gone").hidden = !gone;
    $("#detail-gone-title").textContent = gone?.offline ? "Folder offline" : "Original gone";
    $("#detail-gone-why").textContent = gone?.why || "";
    $("#detail-gone-advice").hidden = Boolean(gone?.offline);
    $("#detail-gone-remove").hidden = Boolean(gone?.offline);
    this.image.hidden = Boolean(gone);
    $("#detail-original").hidden = Boolean(gone);
  }

  // The picture failed although the details said its original was there (gone since): asked once why.
  async imageFailed() {
    const url = this.image.src;
    if (!url) return;
    const gone = await whyGone(url);
    if (gone && this.image.src === url) this.setGone(gone);
  }

  askRemove() {
    $("#detail-remove").hidden = true;
    $("#detail-remove-confirm").hidden = false;
    $("#detail-remove-no").focus();
  }

  resetRemove() {
    $("#detail-remove-confirm").hidden = true;
    $("#detail-error").hidden = true;
    $("#detail-remove").hidden = false;
  }

  async remove() {
    const yes = $("#detail-remove-yes");
    const { id, name } = this.current;
    setBusy(yes, true, "Removing…");
    try {
      await del(api.point(this.host.collection(), id));
    } catch (err) {
      const line = $("#detail-error");
      line.textContent = `Not removed: ${err.message}`;
      line.dataset.code = err.code;
      line.hidden = false;
      return;
    } finally {
      setBusy(yes, false);
    }
    this.dialog.close();
    this.list.remove(id);
    this.host.removed(id, name);
  }

  keydown(event) {
    const keys = { ArrowRight: () => this.step(1), ArrowLeft: () => this.step(-1), "+": () => this.zoomBy(1),
      "=": () => this.zoomBy(1), "-": () => this.zoomBy(-1), 0: () => this.setZoom(null) };
    const action = keys[event.key];
    if (!action || event.target.closest("input, select, textarea")) return;
    event.preventDefault();
    action();
  }

  wire() {
    wireDialogClose(this.dialog);
    this.dialog.addEventListener("keydown", (event) => this.keydown(event));
    this.dialog.addEventListener("close", () => {
      if (!this.quiet) this.host.closed();
      this.quiet = false;
      // Back on the card of the photo last shown, not the one that opened the viewer (the dialog's own return).
      const card = this.current && this.list.button(this.current.id);
      if (card) {
        card.focus();
        card.scrollIntoView({ block: "nearest" });
      }
    });
    this.stage.addEventListener("wheel", (event) => { // a pinch on a touchpad, or Ctrl + wheel
      if (!event.ctrlKey) return;
      event.preventDefault();
      this.zoomBy(event.deltaY < 0 ? 1 : -1);
    }, { passive: false });
    $("#viewer-prev").addEventListener("click", () => this.step(-1));
    $("#viewer-next").addEventListener("click", () => this.step(1));
    $("#viewer-zoom-in").addEventListener("click", () => this.zoomBy(1));
    $("#viewer-zoom-out").addEventListener("click", () => this.zoomBy(-1));
    $("#viewer-zoom").addEventListener("click", () => this.setZoom(this.zoom === null ? 1 : null));
    this.image.addEventListener("dblclick", () => this.setZoom(this.zoom === null ? 1 : null));
    this.image.addEventListener("error", () => this.imageFailed());
    $("#detail-gone-remove").addEventListener("click", () => this.askRemove());
    $("#more-like-this").addEventListener("click", () => {
      this.closeQuietly(); // the search it starts takes the viewer's place in the history
      this.host.moreLikeThis(this.current.id, this.current.name);
    });
    const ask = $("#detail-remove");
    ask.addEventListener("click", () => this.askRemove());
    $("#detail-remove-no").addEventListener("click", () => { this.resetRemove(); ask.focus(); });
    $("#detail-remove-yes").addEventListener("click", () => this.remove());
  }
}
