// What the review pages share: waiting on a background task with a progress line, and "surprise me".

import { get } from "./api.js";
import { $ } from "./dom.js";
import { setBusy } from "./forms.js";
import { urlOfState } from "./search-state.js";
import { review } from "./urls.js";

const POLL_MS = 400;

// Poll the review task until it ends, showing its progress in `line` (a .progress-line); resolves with it.
// `preparing`: what the line says until the task knows how much there is to do (not "starting: 0 / 0").
export async function waitForTask(task, line, preparing = "Preparing…") {
  line.hidden = false;
  let current = task;
  while (current.state === "running") {
    const bar = $("progress", line);
    if (current.total) bar.value = current.percent ?? 0;
    else bar.removeAttribute("value"); // busy, amount unknown
    $(".progress-text", line).textContent = current.total ? `${current.stage}: ${current.done} / ${current.total}`
      : preparing;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = await get(review.task(current.task_id));
  }
  line.hidden = true;
  return current;
}

export function collectionName() {
  return $("#review-data").dataset.collection;
}

// A random photo of the collection `name`, or null when it has none.
export async function randomPhoto(name) {
  const { points } = await get(`${review.random(name)}?limit=1`);
  return points[0] || null;
}

// What "Surprise me" shows, from every page: the photos page with `photo` open, among the photos like it.
export function surpriseView(name, photo) {
  return { collection: name, q: "", like: photo.id, likeName: photo.filename || "", from: "", open: photo.id,
    filters: {} };
}

// The review pages' "Surprise me": the photos page, as its own button shows it.
export function initSurprise(name) {
  const button = $("#surprise");
  const status = $("#surprise-status");
  button.addEventListener("click", async () => {
    setBusy(button, true, "Picking…");
    status.textContent = "";
    try {
      const photo = await randomPhoto(name);
      if (photo) location.assign(urlOfState(surpriseView(name, photo)));
      else status.textContent = "This collection has no photos yet.";
    } catch (err) {
      status.textContent = err.message;
    } finally {
      setBusy(button, false);
    }
  });
}
