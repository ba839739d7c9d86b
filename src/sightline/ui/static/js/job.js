// One job's page kept live: progress and log over server-sent events (polling if they are refused),
// the errors table, cancel and retry.

import { get, post } from "./api.js";
import { $ } from "./dom.js";
import { plural } from "./format.js";
import { setBusy } from "./forms.js";
import { appendLogLine, errorsShown, renderErrors, renderJob, renderRetryAdvice, retryHopeless } from "./job-view.js";
import { api } from "./urls.js";

const LOG_PAGE = 5000;
const POLL_MS = 2000;

class JobPage {
  constructor(job, errors) {
    this.job = job;
    this.errors = errors; // the errors table's, as the server last sent them
    this.id = job.job_id;
    this.log = $("#job-log");
    this.live = $("#live-status");
    this.actionError = $("#job-action-error");
    this.lastLogId = 0;
    this.source = null;
    this.pollTimer = null;
    this.offline = false; // the server stopped answering: Cancel waits for it
  }

  say(text) { this.live.textContent = text; }

  render() {
    renderJob(this.job, this.offline);
    renderRetryAdvice(retryHopeless(this.errors, this.job.counts, errorsShown()));
  }

  // Whether the server answers; the page says so (`text`, when there is something to say) and offers Cancel only
  // while it does.
  connected(yes, text) {
    this.offline = !yes;
    if (text !== undefined) this.say(text);
    this.render();
  }

  appendLog(line) {
    if (line.id <= this.lastLogId) return;
    this.lastLogId = line.id;
    appendLogLine(this.log, line);
  }

  async loadLogs() {
    for (;;) {
      const { logs } = await get(api.jobLogs(this.id, this.lastLogId, LOG_PAGE));
      logs.forEach((line) => this.appendLog(line));
      if (logs.length < LOG_PAGE) return;
    }
  }

  async loadErrors() {
    this.errors = (await get(api.jobErrors(this.id, errorsShown()))).errors;
    renderErrors(this.errors, this.job);
    this.render();
  }

  update(next) {
    const failedChanged = next.counts.failed !== this.job.counts.failed;
    this.job = next;
    this.render();
    if (failedChanged) this.loadErrors().catch(() => {});
  }

  async refreshAll() {
    try {
      this.job = await get(api.job(this.id));
      this.offline = false;
      this.render();
      await Promise.all([this.loadErrors(), this.loadLogs()]);
    } catch (err) {
      this.say(err.message);
    }
  }

  async pollOnce() {
    try {
      const job = await get(api.job(this.id));
      this.offline = false;
      this.update(job);
      await this.loadLogs();
      if (this.job.is_terminal) {
        clearInterval(this.pollTimer);
        this.pollTimer = null;
        this.say("");
        await this.refreshAll();
      }
    } catch (err) {
      this.connected(false, `Cannot reach the server: ${err.message}`);
    }
  }

  // Fallback when the event stream is refused (e.g. by a proxy): poll the job.
  poll() {
    if (!this.pollTimer) this.pollTimer = setInterval(() => this.pollOnce(), POLL_MS);
  }

  async ended() {
    this.source.close();
    this.source = null;
    this.say("");
    await this.refreshAll();
  }

  lostEvents() {
    if (this.source && this.source.readyState === EventSource.CLOSED) {
      this.source = null;
      this.say("Live updates stopped; checking every 2 s.");
      this.poll();
    } else {
      this.connected(false, "Connection lost; reconnecting…");
    }
  }

  follow() {
    if (this.source || this.job.is_terminal) return;
    const source = new EventSource(api.jobEvents(this.id));
    this.source = source;
    // Said only after a loss: on a first open it would replace what the page just said ("1 failed file queued again").
    source.addEventListener("open", () => this.connected(true, this.offline ? "Live updates on." : undefined));
    source.addEventListener("log", (event) => this.appendLog(JSON.parse(event.data)));
    source.addEventListener("progress", (event) => this.update(JSON.parse(event.data)));
    source.addEventListener("end", () => this.ended());
    source.addEventListener("error", () => this.lostEvents());
  }

  // Run a button's action with the button busy; its error goes to the action error line.
  async act(button, busyLabel, action) {
    this.actionError.hidden = true;
    setBusy(button, true, busyLabel);
    try {
      await action();
    } catch (err) {
      this.actionError.textContent = err.message;
      this.actionError.hidden = false;
    }
    setBusy(button, false);
    this.render();
  }

  async cancel(button) {
    await this.act(button, "Cancelling…", async () => {
      this.update(await post(api.jobCancel(this.id)));
      this.say("Cancelling after the batches in flight…");
    });
  }

  async retry(button) {
    await this.act(button, "Queuing…", async () => {
      const answer = await post(api.jobRetry(this.id));
      const more = answer.pending ? `, and ${answer.pending} not reached` : "";
      this.say(`${plural(answer.retried, "failed file")} queued again${more}.`);
      this.job = await get(api.job(this.id));
    });
    if (this.job.is_terminal) await this.refreshAll(); // a quick retry may be over already
    else this.follow();
  }

  start() {
    $("#job-cancel").addEventListener("click", (event) => this.cancel(event.currentTarget));
    $("#job-retry").addEventListener("click", (event) => this.retry(event.currentTarget));
    this.render();
    this.loadLogs().catch((err) => this.say(err.message)).finally(() => this.follow());
  }
}

export function initJob() {
  new JobPage(JSON.parse($("#job-data").textContent), JSON.parse($("#job-errors").textContent)).start();
}
