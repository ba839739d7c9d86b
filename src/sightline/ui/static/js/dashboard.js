// Dashboard: the running jobs' progress moves; the page reloads once one of them is over, or once a job
// it does not show yet is queued or running (started from another page, the CLI or a folder's sync), and
// once the ML service it shows loading or down changes state.

import { get } from "./api.js";
import { $, $$ } from "./dom.js";
import { stateLabel } from "./format.js";
import { progressText } from "./job-view.js";
import { watchMl } from "./ml-status.js";
import { api } from "./urls.js";

const POLL_MS = 1500;

function showProgress(row, job) {
  const bar = $("progress", row);
  if (job.percent === null) bar.removeAttribute("value"); else bar.value = job.percent;
  $('[data-field="percent"]', row).textContent = progressText(job);
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

// True once a job the page does not show exists: one queued or running that is not among the rows, or a newer
// job than the page was rendered with (`known`: a short one may start and end between two polls).
async function newJob(rows, known) {
  const shown = new Set(rows.map((row) => row.dataset.jobId));
  try {
    const { jobs } = await get(api.jobs({ state: ["queued", "running"], limit: 50 }));
    const [newest] = (await get(api.jobs({ limit: 1 }))).jobs;
    return jobs.some((job) => !shown.has(job.job_id)) || (newest ? newest.job_id : "") !== known;
  } catch {
    return false; // the next poll tries again
  }
}

export function initDashboard() {
  watchMl(() => location.reload());
  if (!$("#running-jobs")) return;
  const rows = $$("#running-jobs [data-job-id]");
  const known = $("#running-jobs").dataset.newest; // the newest job when the page was rendered
  const timer = setInterval(async () => {
    if ((await refresh(rows)) || (await newJob(rows, known))) {
      clearInterval(timer);
      location.reload();
    }
  }, POLL_MS);
}
