// What the review pages share: waiting on a background task with a progress line, and "surprise me".

import { get } from "./api.js";
import { $, openDialog, wireDialogClose } from "./dom.js";
import { review } from "./urls.js";

const POLL_MS = 400;

// Poll the review task until it ends, showing its progress in `line` (a .progress-line); resolves with it.
export async function waitForTask(task, line) {
  line.hidden = false;
  let current = task;
  while (current.state === "running") {
    $("progress", line).value = current.percent ?? 0;
    $(".progress-text", line).textContent = `${current.stage}: ${current.done} / ${current.total}`;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = await get(review.task(current.task_id));
  }
  line.hidden = true;
  return current;
}

export function collectionName() {
  return $("#review-data").dataset.collection;
}

export function initSurprise(name) {
  const dialog = $("#surprise-dialog");
  wireDialogClose(dialog);
  const show = async () => {
    const { points } = await get(`${review.random(name)}?limit=1`);
    if (!points.length) return;
    $("#surprise-image").src = review.thumbnail(name, points[0].id, 1280);
    $("#surprise-image").alt = points[0].caption || points[0].filename || "A random photo";
    $("#surprise-path").textContent = points[0].path;
    if (!dialog.open) openDialog(dialog);
  };
  $("#surprise").addEventListener("click", show);
  $("#surprise-again").addEventListener("click", show);
}
