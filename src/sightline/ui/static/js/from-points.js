// A new collection from selected photos (a map area, a duplicates group, the Photos page's selection): the API
// checks the selection and creates the collection, then copies the photos in the background as a review task.
// A small selection comes back already copied; a larger one shows its progress in `status` until it is done.

import { ApiError, post } from "./api.js";
import { el } from "./dom.js";
import { waitForTask } from "./review-common.js";
import { api } from "./urls.js";

// Resolves with the task's result {collection, copied, from, points_count}; throws an ApiError when the request
// is refused (its `where` names the field) or the copy fails (the server then removed the collection).
export async function collectionFromPoints(name, collection, pointIds, status) {
  const { task } = await post(api.collections, { name, from_points: { collection, point_ids: pointIds } });
  let done = task;
  if (task.state === "running") {
    const line = el("span", { class: "progress-line" },
      el("progress", { max: "100", "aria-label": `Copying into ${name}` }), el("span", { class: "progress-text" }));
    line.style.flexWrap = "wrap"; // the words under the bar where the status is narrow
    line.firstChild.style.minWidth = "12rem"; // a bar even where the status is as wide as its content
    status.replaceChildren(line);
    done = await waitForTask(task, line);
    line.remove();
  }
  if (done.state === "failed") throw new ApiError(500, done.error.code, done.error.message, done.error.where || null);
  return done.result;
}
