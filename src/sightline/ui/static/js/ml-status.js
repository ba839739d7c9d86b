// The ML service's state as the pages name it: "up", "loading" (every replica is loading its models) or "down";
// the twin of `ml_summary` in ui/pages.py. A page that shows it not up polls it until it is.

import { get } from "./api.js";
import { $ } from "./dom.js";
import { api } from "./urls.js";

const POLL_MS = 2000;

export function mlState({ ml }) {
  if (ml.capabilities && ml.replicas.some((replica) => replica.status === "ok")) return "up";
  const loading = ml.replicas.length > 0 && ml.replicas.every((replica) => replica.status === "loading");
  return loading ? "loading" : "down";
}

// While the page shows the service not up (its `[data-ml-state]`), poll it: `onChange(state, status)` on each
// change of state, the last one being "up".
export function watchMl(onChange) {
  const shown = $("[data-ml-state]");
  if (!shown || shown.dataset.mlState === "up") return;
  let state = shown.dataset.mlState;
  const timer = setInterval(async () => {
    let status;
    try {
      status = await get(api.status);
    } catch {
      return; // the next poll tries again
    }
    const next = mlState(status);
    if (next === state) return;
    state = next;
    if (next === "up") clearInterval(timer);
    onChange(next, status);
  }, POLL_MS);
}
