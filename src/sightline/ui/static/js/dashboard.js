// Dashboard: the running jobs' progress moves; the page reloads once one of them is over.

import { get } from "./api.js";
import { $, $$ } from "./dom.js";
import { percentText, stateLabel } from "./format.js";
import { api } from "./urls.js";

const POLL_MS = 1500;

function showProgress(row, job) {
  const bar = $("progress", row);
  if (job.percent === null) bar.removeAttribute("value"); else bar.value = job.percent;
  $('[data-field="percent"]', row).textContent = percentText(job.percent);
  $('[data-field="state"]', row).textContent = stateLabel(job.state);
}

// Refresh each row; true once any of their jobs is over (or gone).
async function refresh(rows) {
  let finished = false;
  for (const row of rows) {
    try {
      const job = await get(api.job(row.dataset.jobId));
      showProgress(row, job);
      if (job.is_terminal) finished = true;
    } catch (err) {
      if (err.status === 404) finished = true;
    }
  }
  return finished;
}

export function initDashboard() {
  const rows = $$("#running-jobs [data-job-id]");
  if (!rows.length) return;
  const timer = setInterval(async () => {
    if (await refresh(rows)) {
      clearInterval(timer);
      location.reload();
    }
  }, POLL_MS);
}
