// The map page: every photo of the collection as a dot on a canvas (colour: its cluster), pan and zoom,
// thumbnails once few enough photos are in view, selection by area or cluster, and a new collection from the
// selection. `window.sightlineMap.frames` keeps each frame's draw time (ms) for tests and benchmarks.

import { ApiError, get } from "./api.js";
import { $, el } from "./dom.js";
import { setBusy } from "./forms.js";
import { plural } from "./format.js";
import { collectionFromPoints } from "./from-points.js";
import { clusterColour, darkScheme } from "./palette.js";
import { review } from "./urls.js";
import { collectionName, initSurprise, waitForTask } from "./review-common.js";

const THUMBS_WHEN_VISIBLE = 120; // thumbnails replace dots when this few photos are in view
const THUMB_PX = 56;
const PAD = THUMB_PX / 2 + 8; // room for the thumbnails of the photos at the edges
const name = collectionName();
const canvas = $("#map-canvas");
const ctx = canvas.getContext("2d");
const stats = { frames: [], visible: 0 };
window.sightlineMap = stats;

let map = null; // { ids, xs, ys, clusters, order (indices sorted by cluster), labels }
let view = { scale: 1, x: 0, y: 0 };
let selected = new Set();
let drag = null; // { mode: "pan" | "select", x0, y0, x, y, view }
let pending = false;
const thumbs = new Map();

function fromAnswer(answer) {
  const n = answer.points.length;
  const xs = new Float32Array(n), ys = new Float32Array(n), clusters = new Int32Array(n);
  answer.points.forEach((p, i) => { xs[i] = p.x; ys[i] = p.y; clusters[i] = p.cluster; });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => clusters[a] - clusters[b]);
  const span = (values) => values.reduce(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], n ? [1, 0] : [0, 1]);
  return { ids: answer.points.map((p) => p.id), xs, ys, clusters, order, labels: answer.clusters,
    xSpan: span(xs), ySpan: span(ys) };
}

// The screen transform of this frame: x = ox + map.xs[i] * k (at scale 1 the photos fill the canvas, centred).
function transform() {
  const [x0, x1] = map.xSpan, [y0, y1] = map.ySpan;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const fit = Math.max(1, Math.min((w - 2 * PAD) / Math.max(x1 - x0, 1e-3), (h - 2 * PAD) / Math.max(y1 - y0, 1e-3)));
  const k = fit * view.scale;
  return { k, ox: w / 2 - ((x0 + x1) / 2) * k + view.x, oy: h / 2 - ((y0 + y1) / 2) * k + view.y };
}

// The view at `scale` that keeps the map point under the screen point `at` where it is. On screen a point sits at
// centre + view.x + (its offset from the layout's middle) × k, and k grows with the scale: the offset of `at` from
// centre + view.x grows by the same ratio, the rest of view.x follows.
function zoomedAt(at, scale) {
  const ratio = scale / view.scale, cx = canvas.clientWidth / 2, cy = canvas.clientHeight / 2;
  return { scale, x: at.x - cx - (at.x - cx - view.x) * ratio, y: at.y - cy - (at.y - cy - view.y) * ratio };
}

// Where the map point (mx, my) is on screen, and the map point at the screen point (x, y): for tests.
stats.toScreen = (mx, my) => { const { k, ox, oy } = transform(); return { x: ox + mx * k, y: oy + my * k }; };
stats.toMap = (x, y) => { const { k, ox, oy } = transform(); return { x: (x - ox) / k, y: (y - oy) / k }; };
stats.scale = () => view.scale;

function resize() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(canvas.clientHeight * dpr);
  schedule();
}

function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}

// The photos in view (in cluster order) and their screen positions.
function inView(w, h) {
  const { k, ox, oy } = transform();
  const indices = [], xs = [], ys = [];
  for (const i of map.order) {
    const x = ox + map.xs[i] * k, y = oy + map.ys[i] * k;
    if (x >= -THUMB_PX && y >= -THUMB_PX && x <= w + THUMB_PX && y <= h + THUMB_PX) {
      indices.push(i); xs.push(x); ys.push(y);
    }
  }
  return { indices, xs, ys };
}

function draw() {
  const started = performance.now();
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!map) return;
  const visible = inView(w, h);
  stats.visible = visible.indices.length;
  if (stats.visible <= THUMBS_WHEN_VISIBLE) drawThumbs(visible);
  else drawDots(visible);
  drawSelection(visible);
  if (drag && drag.mode === "select") {
    ctx.strokeStyle = "#1f5fbf";
    ctx.setLineDash([6, 4]);
    ctx.strokeRect(drag.x0, drag.y0, drag.x - drag.x0, drag.y - drag.y0);
    ctx.setLineDash([]);
  }
  stats.frames.push(performance.now() - started);
  canvas.dataset.frameMs = stats.frames[stats.frames.length - 1].toFixed(2);
}

// One path and one fill per cluster (the indices come in cluster order).
function drawDots({ indices, xs, ys }) {
  let current = null;
  for (let j = 0; j < indices.length; j++) {
    const cluster = map.clusters[indices[j]];
    if (cluster !== current) {
      if (current !== null) ctx.fill();
      current = cluster;
      ctx.fillStyle = clusterColour(cluster);
      ctx.beginPath();
    }
    ctx.rect(xs[j] - 1.5, ys[j] - 1.5, 3, 3);
  }
  if (current !== null) ctx.fill();
}

function drawThumbs({ indices, xs, ys }) {
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j], x = xs[j] - THUMB_PX / 2, y = ys[j] - THUMB_PX / 2;
    const image = thumb(map.ids[i]);
    ctx.fillStyle = clusterColour(map.clusters[i]);
    ctx.fillRect(x - 2, y - 2, THUMB_PX + 4, THUMB_PX + 4);
    if (image.complete && image.naturalWidth) ctx.drawImage(image, x, y, THUMB_PX, THUMB_PX);
  }
}

function thumb(id) {
  let image = thumbs.get(id);
  if (!image) {
    image = new Image();
    image.addEventListener("load", schedule);
    image.src = review.thumbnail(name, id, 128);
    thumbs.set(id, image);
  }
  return image;
}

function drawSelection({ indices, xs, ys }) {
  if (!selected.size) return;
  ctx.strokeStyle = "#1f5fbf"; // the selection rectangle's blue, unlike any cluster's colour at this width
  ctx.lineWidth = 3;
  const r = stats.visible <= THUMBS_WHEN_VISIBLE ? THUMB_PX / 2 + 3 : 3;
  ctx.beginPath();
  for (let j = 0; j < indices.length; j++) if (selected.has(indices[j])) ctx.rect(xs[j] - r, ys[j] - r, 2 * r, 2 * r);
  ctx.stroke();
  ctx.lineWidth = 1;
}

function select(indices) {
  selected = new Set(indices);
  $("#map-selected").textContent = selected.size ? `${plural(selected.size, "photo")} selected.` : "Nothing selected.";
  $("#map-new-submit").disabled = !selected.size;
  schedule();
}

function selectRect(a, b) {
  const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)], [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)];
  const { k, ox, oy } = transform();
  select(map.order.filter((i) => {
    const x = ox + map.xs[i] * k, y = oy + map.ys[i] * k;
    return x >= x0 && x <= x1 && y >= y0 && y <= y1;
  }));
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return { x: event.clientX - box.left, y: event.clientY - box.top };
}

function wirePointer() {
  const mode = $("#map-select-mode");
  mode.addEventListener("click", () => {
    const on = mode.getAttribute("aria-pressed") !== "true";
    mode.setAttribute("aria-pressed", String(on));
    canvas.classList.toggle("selecting", on);
  });
  canvas.addEventListener("pointerdown", (event) => {
    const at = point(event);
    const selecting = event.shiftKey || mode.getAttribute("aria-pressed") === "true";
    drag = { mode: selecting ? "select" : "pan", x0: at.x, y0: at.y, x: at.x, y: at.y, view: { ...view } };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const at = point(event);
    drag.x = at.x; drag.y = at.y;
    if (drag.mode === "pan") view = { ...drag.view, x: drag.view.x + at.x - drag.x0, y: drag.view.y + at.y - drag.y0 };
    schedule();
  });
  canvas.addEventListener("pointerup", () => {
    if (drag && drag.mode === "select" && map) selectRect({ x: drag.x0, y: drag.y0 }, drag);
    drag = null;
    schedule();
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const at = point(event), factor = Math.exp(-event.deltaY * 0.0015);
    view = zoomedAt(at, Math.min(400, Math.max(0.5, view.scale * factor)));
    schedule();
  }, { passive: false });
  $("#map-reset").addEventListener("click", () => { view = { scale: 1, x: 0, y: 0 }; schedule(); });
}

function showClusters() {
  $("#map-clusters").replaceChildren(...map.labels.map((cluster) => {
    const button = el("button", { type: "button", class: "button small", "data-cluster": cluster.id },
      el("span", { class: "swatch" }), `${cluster.label} (${cluster.size})`);
    button.firstChild.style.background = clusterColour(cluster.id);
    button.addEventListener("click", () => select(map.order.filter((i) => map.clusters[i] === cluster.id)));
    return el("li", {}, button);
  }));
}

async function createFromSelection(event) {
  event.preventDefault();
  const input = $("#map-new-name");
  const target = input.value.trim();
  const status = $("#map-new-status");
  input.value = target;
  if (!input.checkValidity()) {
    status.textContent = `Name it with up to ${input.maxLength} letters, digits, “_” and “-”, starting with a letter or digit.`;
    input.focus();
    return;
  }
  const button = $("#map-new-submit");
  status.textContent = "";
  setBusy(button, true, "Creating…");
  try {
    const made = await collectionFromPoints(target, name, Array.from(selected, (i) => map.ids[i]), status);
    status.replaceChildren(`Created ${made.collection} with ${plural(made.points_count, "photo")}. `,
      el("a", { href: review.mapPage(made.collection), text: "Its map" }));
  } catch (err) {
    status.textContent = err.message;
  } finally {
    setBusy(button, false);
    button.disabled = !selected.size;
  }
}

async function load() {
  const status = $("#map-status");
  try {
    let answer = await get(review.map(name));
    if (answer.state === "computing") {
      const task = await waitForTask(answer.task, $("#map-progress"), "Preparing the map…");
      if (task.state === "failed") throw new ApiError(500, "MAP_FAILED", task.error.message, null);
      answer = await get(review.map(name));
    }
    map = fromAnswer(answer);
    showClusters();
    status.textContent = `${plural(map.ids.length, "photo")}, ${plural(map.labels.length, "cluster")}.`;
    canvas.dataset.state = "ready";
    canvas.dataset.points = String(map.ids.length);
    schedule();
  } catch (err) {
    status.textContent = err.message;
    canvas.dataset.state = "failed";
  }
}

initSurprise(name);
wirePointer();
$("#map-new").addEventListener("submit", createFromSelection);
new ResizeObserver(resize).observe(canvas);
darkScheme.addEventListener("change", () => { if (map) showClusters(); schedule(); }); // the other palette
load();
