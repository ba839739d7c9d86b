// One job's page, drawn from the job the server sends (`percent` and `is_terminal` come with it).

import { $, el } from "./dom.js";
import { duration, percentText, rate, stateLabel, timeOfDay, when } from "./format.js";

const MAX_LOG_LINES = 2000;

// The job's progress as text: nothing while it is queued with no total yet (its state says so).
export function progressText(job) {
  return job.state === "queued" && job.percent === null ? "" : percentText(job.percent);
}

// `offline`: no ETA, since nothing is known to be moving while the server is lost.
function renderProgress(job, offline) {
  const bar = $("#job-progress");
  if (job.percent === null) bar.removeAttribute("value"); else bar.value = job.percent;
  $("#job-progress-text").textContent = progressText(job);
  for (const [key, value] of Object.entries(job.counts)) {
    const node = $(`[data-count="${key}"]`);
    if (node) node.textContent = value;
  }
  $("#job-rate").textContent = rate(job.images_per_second);
  $("#job-eta").textContent = job.is_terminal || offline ? "—" : duration(job.eta_seconds);
}

// `offline`: the page has lost the server (cancelling cannot work then).
export function renderJob(job, offline = false) {
  const state = $("#job-state");
  state.textContent = stateLabel(job.state);
  state.className = `badge state-${job.state}`;
  renderProgress(job, offline);
  $("#job-started").textContent = when(job.started_at);
  $("#job-finished").textContent = when(job.finished_at);
  const error = $("#job-error");
  error.hidden = !job.error;
  error.textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
  const cancel = $("#job-cancel");
  cancel.hidden = job.is_terminal;
  cancel.disabled = job.is_terminal || offline;
  const retry = $("#job-retry"); // once the job has ended: while it runs there is nothing to retry or go on with
  retry.hidden = !job.is_terminal;
  retry.disabled = !job.is_terminal || (job.counts.failed === 0 && job.counts.pending === 0);
  retry.textContent = retryLabel(job.counts);
}

// Whether a retry can hardly help: every failure (all of them listed, not just the first `limit`) is one a retry
// does not mend (an empty, unreadable or damaged file: no "retriable" badge), and no file is left unreached.
export function retryHopeless(errors, counts, limit) {
  return counts.pending === 0 && errors.length > 0 && errors.length < limit && !errors.some((error) => error.retriable);
}

// The retry button is the page's primary action unless it can hardly help; then its description says so.
export function renderRetryAdvice(hopeless) {
  const retry = $("#job-retry");
  const advise = hopeless && !retry.hidden;
  retry.classList.toggle("primary", !hopeless);
  $("#job-retry-hint").hidden = !advise;
  if (advise) retry.setAttribute("aria-describedby", "job-retry-hint"); // a hidden description would still be read
  else retry.removeAttribute("aria-describedby");
}

// What the retry button does, in words: it queues the failed files again and goes on with the files the job never
// reached (a cancelled or failed job's `pending`).
export function retryLabel({ failed, pending }) {
  if (!pending) return "Retry failed";
  const more = `${pending} not reached`;
  return failed ? `Retry failed, go on with ${more}` : `Go on with ${more}`;
}

// Add a log line at the bottom, following it if the reader was at the bottom already.
export function appendLogLine(log, line) {
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(el("li", { class: `level-${line.level}` },
    el("time", { datetime: line.at, text: timeOfDay(line.at) }), " ", el("span", { text: line.message })));
  while (log.childElementCount > MAX_LOG_LINES) log.firstElementChild.remove();
  if (nearBottom) log.scrollTop = log.scrollHeight;
}

// An uploaded file is named as it was sent, not by its copy in the server's uploads folder (kept as the title).
function fileCell(path, uploaded) {
  const text = uploaded ? path.split(/[\\/]/).pop() : path;
  return el("td", { class: "path", "data-label": "File", text, title: uploaded ? path : null });
}

function errorRow(error, uploaded) {
  const retriable = error.retriable
    ? el("span", { class: "badge warning", title: "A retry may help", text: "retriable" })
    : null;
  return el("tr", {},
    fileCell(error.path, uploaded),
    el("td", { "data-label": "Stage", text: error.stage }),
    el("td", { "data-label": "Code" }, el("code", { text: error.code }), retriable),
    el("td", { "data-label": "Message", text: error.message }),
    el("td", { "data-label": "When" }, el("time", { datetime: error.at, text: when(error.at) })));
}

// How many errors the page shows at most (the server's limit, written in the page).
export function errorsShown() {
  return Number($("#errors-count").dataset.limit);
}

// `job`: its kind says whether the files were uploaded.
export function renderErrors(errors, job) {
  $("#errors-count").textContent = `(${errors.length}${errors.length >= errorsShown() ? "+" : ""})`;
  $("#no-errors").hidden = errors.length > 0;
  $("#errors-hint").hidden = errors.length === 0;
  $("#errors-wrap").hidden = errors.length === 0;
  $("#errors-table tbody").replaceChildren(...errors.map((error) => errorRow(error, job.kind === "upload")));
}
