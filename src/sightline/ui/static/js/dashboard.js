// Dashboard: the running jobs' progress moves; the page reloads once one of them is over, or once a job
// it does not show yet is queued or running (started from another page, the CLI or a folder's sync).

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

// True once a queued or running job is not among the rows.
async function newJob(rows) {
  const shown = new Set(rows.map((row) => row.dataset.jobId));
  try {
    const { jobs } = await get(api.jobs({ state: ["queued", "running"], limit: 50 }));
    return jobs.some((job) => !shown.has(job.job_id));
  } catch {
    return false; // the next poll tries again
  }
}

export function initDashboard() {
  if (!$("#running-jobs")) return;
  const rows = $$("#running-jobs [data-job-id]");
  const timer = setInterval(async () => {
    if ((await refresh(rows)) || (await newJob(rows))) {
      clearInterval(timer);
      location.reload();
    }
  }, POLL_MS);
}
