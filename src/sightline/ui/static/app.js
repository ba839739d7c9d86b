// Sightline admin UI: the pages are rendered on the server; this script sends the forms to the JSON API
// and keeps the pages live (fetch + EventSource). No framework, no build step.
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const TERMINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);

  // --- API ------------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, where) {
      super(message);
      this.status = status;
      this.code = code;
      this.where = where;
    }
  }

  function goToLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  // Turn a status + body text into data, or an ApiError carrying the API's {error: {code, message, where}}.
  function decode(status, text) {
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (status >= 200 && status < 300) return data;
    const error = (data && data.error) || {};
    if (status === 401 && document.body.dataset.page !== "login") goToLogin();
    throw new ApiError(status, error.code || `HTTP_${status}`,
      error.message || `The server answered ${status}.`, error.where || null);
  }

  async function api(method, url, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, "NETWORK", "The Sightline server cannot be reached.", null);
    }
    return decode(response.status, await response.text());
  }

  // POST multipart with upload progress (fetch cannot report it).
  function uploadForm(url, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        try { resolve(decode(xhr.status, xhr.responseText)); } catch (err) { reject(err); }
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, "NETWORK", "The upload was interrupted.", null)));
      xhr.send(formData);
    });
  }

  // --- forms: inline errors next to the field the API names in `where` -----------------------------------

  function clearErrors(root) {
    $$("[data-error-for]", root).forEach((el) => { el.hidden = true; el.textContent = ""; });
    $$("[aria-invalid]", root).forEach((el) => el.removeAttribute("aria-invalid"));
  }

  function showError(form, where, message, aliases = {}) {
    const key = (where && aliases[where]) || where;
    let target = null;
    if (key) {
      const selector = `[data-error-for="${CSS.escape(key)}"]`;
      target = $(selector, form) || $(selector);
    }
    const atField = Boolean(target);
    if (!target) {
      target = $('[data-error-for="_form"]', form);
      if (where === "ml_service") message = `ML service: ${message}`;
    }
    // "hnsw.m: Input should be ..." reads better as "Input should be ..." next to the field itself.
    target.textContent = atField ? message.replace(/^[\w.]+: /, "") : message;
    target.hidden = false;
    const field = target.id ? $(`[aria-describedby~="${CSS.escape(target.id)}"]`) : null;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  function showApiError(form, err, aliases) {
    showError(form, err.where, err.message, aliases);
  }

  function setBusy(button, busy, label) {
    if (!button) return;
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = label;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    } else {
      if (button.dataset.label) button.textContent = button.dataset.label;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // --- formatting --------------------------------------------------------------------------------------------

  function percentOf(job) {
    const c = job.counts;
    const processed = c.done + c.cached + c.skipped + c.failed;
    if (c.total) return Math.min(100, Math.floor((processed * 100) / c.total));
    return TERMINAL.has(job.state) ? 100 : null;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    let s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    let m = Math.floor(s / 60); s %= 60;
    if (m < 60) return `${m} min ${String(s).padStart(2, "0")} s`;
    const h = Math.floor(m / 60); m %= 60;
    return `${h} h ${String(m).padStart(2, "0")} min`;
  }

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function bytes(n) {
    if (n === null || n === undefined) return "—";
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function localTimes(root = document) {
    $$("time[datetime]", root).forEach((node) => {
      const value = node.getAttribute("datetime");
      if (value && value !== "None") {
        node.title = value;
        node.textContent = when(value);
      }
    });
  }

  function openDialog(dialog) {
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  function wireDialogClose(dialog) {
    $$("[data-close]", dialog).forEach((button) => button.addEventListener("click", () => dialog.close()));
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  }

  // Files dropped outside a drop zone would make the browser leave the page: keep them.
  function guardWindowDrops() {
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
  }

  function dropZone(zone, onFiles) {
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      zone.classList.remove("dragging");
      const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
      if (files.length) onFiles(files);
    });
  }

  // --- common: log out --------------------------------------------------------------------------------------

  function initCommon() {
    localTimes();
    const logout = $("#logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("DELETE", "/api/v1/session"); } finally { location.assign("/login"); }
      });
    }
  }

  // --- dashboard: keep running jobs moving ------------------------------------------------------------------

  function initDashboard() {
    const rows = $$("#running-jobs [data-job-id]");
    if (!rows.length) return;
    const timer = setInterval(async () => {
      let finished = false;
      for (const row of rows) {
        try {
          const job = await api("GET", `/api/v1/jobs/${encodeURIComponent(row.dataset.jobId)}`);
          const pct = percentOf(job);
          const bar = $("progress", row);
          if (pct === null) bar.removeAttribute("value"); else bar.value = pct;
          $('[data-field="percent"]', row).textContent = pct === null ? "scanning…" : `${pct} %`;
          $('[data-field="state"]', row).textContent = job.state;
          if (TERMINAL.has(job.state)) finished = true;
        } catch (err) {
          if (err.status === 404) finished = true;
        }
      }
      if (finished) {
        clearInterval(timer);
        location.reload();
      }
    }, 1500);
  }

  // --- collections: create with every parameter, delete with a typed confirmation ---------------------------

  const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
  const COLLECTION_ALIASES = {
    "hnsw.m": "hnsw_m", "hnsw.ef_construct": "hnsw_ef_construct", collection: "name", "hnsw": "hnsw_m",
  };

  function integerField(form, name, min, max, { optional = false } = {}) {
    const input = form.elements[name];
    const raw = input.value.trim();
    if (raw === "") {
      if (optional) return { value: null };
      return { error: "Enter a number." };
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      return { error: `Enter a whole number from ${min} to ${max}.` };
    }
    return { value };
  }

  function initCollections() {
    const form = $("#create-collection");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const status = $(".form-status", form);
      status.textContent = "";
      const name = form.elements.name.value.trim();
      if (!name) return showError(form, "name", "Enter a name for the collection.");
      if (!NAME_PATTERN.test(name) || name.length > 64) {
        return showError(form, "name", "Use up to 64 letters, digits, “_” and “-”, starting with a letter or digit.");
      }
      const m = integerField(form, "hnsw_m", 0, 128);
      if (m.error) return showError(form, "hnsw_m", m.error);
      const ef = integerField(form, "hnsw_ef_construct", 4, 4096);
      if (ef.error) return showError(form, "hnsw_ef_construct", ef.error);
      const size = integerField(form, "vector_size", 1, 65536, { optional: true });
      if (size.error) return showError(form, "vector_size", size.error);
      const body = {
        name,
        distance: form.elements.distance.value,
        on_disk: form.elements.on_disk.checked,
        hnsw: { m: m.value, ef_construct: ef.value },
        quantization: form.elements.quantization.value || null,
      };
      if (size.value !== null) body.vector_size = size.value;
      const button = $('button[type="submit"]', form);
      setBusy(button, true, "Creating…");
      try {
        await api("POST", "/api/v1/collections", body);
        status.textContent = `Created ${name}.`;
        location.assign(`/collections?created=${encodeURIComponent(name)}`);
      } catch (err) {
        showApiError(form, err, COLLECTION_ALIASES);
        setBusy(button, false);
      }
    });

    const dialog = $("#delete-dialog");
    const deleteForm = $("#delete-form");
    const confirmInput = $("#delete-confirm");
    const submit = $("#delete-submit");
    let target = null;
    wireDialogClose(dialog);
    $$("[data-delete]").forEach((button) => {
      button.addEventListener("click", () => {
        target = button.dataset.delete;
        $$("[data-name]", dialog).forEach((node) => { node.textContent = target; });
        $("[data-count]", dialog).textContent = button.dataset.points;
        confirmInput.value = "";
        submit.disabled = true;
        clearErrors(deleteForm);
        openDialog(dialog);
        confirmInput.focus();
      });
    });
    confirmInput.addEventListener("input", () => { submit.disabled = confirmInput.value !== target; });
    deleteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (confirmInput.value !== target) return;
      clearErrors(deleteForm);
      setBusy(submit, true, "Deleting…");
      try {
        await api("DELETE", `/api/v1/collections/${encodeURIComponent(target)}`);
        dialog.close();
        location.assign(`/collections?deleted=${encodeURIComponent(target)}`);
      } catch (err) {
        showError(deleteForm, null, err.message);
        setBusy(submit, false);
      }
    });
  }

  // --- ingest: server folder browser + drag-and-drop upload ----------------------------------------------------

  function initIngest() {
    guardWindowDrops();
    const collection = $("#ingest-collection");
    const scanForm = $("#scan-form");
    const list = $("#folder-list");
    const where = $("#browse-where");
    const count = $("#browse-count");
    const up = $("#browse-up");
    const pathInput = $("#directory_path");
    let parent = null;

    async function browse(path) {
      clearErrors($("#folder-browser"));
      let data;
      try {
        data = await api("GET", "/api/v1/browse" + (path ? `?path=${encodeURIComponent(path)}` : ""));
      } catch (err) {
        showError(scanForm, "path", err.message);
        return;
      }
      parent = data.parent;
      up.disabled = !data.path;
      where.textContent = data.path || "Ingest roots";
      if (data.path) pathInput.value = data.path;
      list.replaceChildren(...data.folders.map((folder) => el("li", {},
        el("button", { type: "button", class: "folder", "data-path": folder.path, text: folder.name }))));
      if (!data.folders.length) list.append(el("li", { class: "muted", text: "No sub-folders." }));
      count.textContent = data.path
        ? `${data.images} image file${data.images === 1 ? "" : "s"} directly in this folder.`
        : "Choose a root to start.";
      const first = $("button", list);
      if (first && document.activeElement && list.contains(document.activeElement) === false && path) first.focus();
    }

    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-path]");
      if (button) browse(button.dataset.path);
    });
    up.addEventListener("click", () => browse(parent));
    $("#browse-roots").addEventListener("click", () => browse(null));
    $("#browse-go").addEventListener("click", () => browse(pathInput.value.trim() || null));
    pathInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.altKey) { event.preventDefault(); browse(pathInput.value.trim()); }
    });

    scanForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(document);
      if (!collection.value) return showError(scanForm, "collection", "Choose a collection first.");
      const directory = pathInput.value.trim();
      if (!directory) return showError(scanForm, "directory_path", "Choose a folder in the browser or type its path.");
      const button = $("#scan-submit");
      setBusy(button, true, "Starting…");
      try {
        const answer = await api("POST", "/api/v1/ingest/scan", {
          collection: collection.value,
          directory_path: directory,
          recursive: $("#recursive").checked,
          caption: $("#scan-caption").checked,
        });
        location.assign(`/jobs/${encodeURIComponent(answer.job_id)}`);
      } catch (err) {
        showApiError(scanForm, err);
        setBusy(button, false);
      }
    });

    // Upload: files from the picker and from drops add up until sent or cleared.
    const uploadForm$ = $("#upload-form");
    const input = $("#files");
    const summary = $("#file-summary");
    const clear = $("#upload-clear");
    const submit = $("#upload-submit");
    const progress = $("#upload-progress");
    const maxBytes = Number(uploadForm$.dataset.maxBytes) || Infinity;
    let chosen = [];

    function showChosen() {
      clearErrors(uploadForm$);
      const total = chosen.reduce((sum, file) => sum + file.size, 0);
      if (!chosen.length) {
        summary.textContent = "No file chosen.";
      } else {
        const names = chosen.slice(0, 5).map((file) => file.name).join(", ");
        const more = chosen.length > 5 ? ` and ${chosen.length - 5} more` : "";
        summary.textContent = `${chosen.length} file${chosen.length === 1 ? "" : "s"} (${bytes(total)}): ${names}${more}`;
      }
      clear.disabled = submit.disabled = !chosen.length || !collection.value;
      const tooBig = chosen.filter((file) => file.size > maxBytes);
      if (tooBig.length) {
        showError(uploadForm$, "files", `Too large (over ${bytes(maxBytes)}): ${tooBig.map((f) => f.name).join(", ")}`);
        submit.disabled = true;
      }
    }

    function addFiles(files) {
      chosen = chosen.concat(files);
      showChosen();
    }

    input.addEventListener("change", () => { addFiles(Array.from(input.files)); input.value = ""; });
    dropZone($("#dropzone"), addFiles);
    clear.addEventListener("click", () => { chosen = []; showChosen(); });

    uploadForm$.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(document);
      if (!collection.value) return showError(uploadForm$, "collection", "Choose a collection first.");
      if (!chosen.length) return showError(uploadForm$, "files", "Choose or drop images first.");
      const data = new FormData();
      data.append("collection", collection.value);
      data.append("caption", $("#upload-caption").checked ? "true" : "false");
      chosen.forEach((file) => data.append("files", file, file.name));
      setBusy(submit, true, "Uploading…");
      clear.disabled = true;
      progress.hidden = false;
      progress.value = 0;
      try {
        const answer = await uploadForm("/api/v1/ingest/upload", data, (fraction) => {
          progress.value = Math.round(fraction * 100);
        });
        location.assign(`/jobs/${encodeURIComponent(answer.job_id)}`);
      } catch (err) {
        progress.hidden = true;
        showApiError(uploadForm$, err);
        setBusy(submit, false);
        clear.disabled = false;
      }
    });
  }

  // --- job: live progress (SSE), log, errors, cancel / retry ------------------------------------------------

  const MAX_LOG_LINES = 2000;

  function initJob() {
    let job = JSON.parse($("#job-data").textContent);
    const id = encodeURIComponent(job.job_id);
    const log = $("#job-log");
    const live = $("#live-status");
    const actionError = $("#job-action-error");
    let lastLogId = 0;
    let source = null;
    let pollTimer = null;

    function render() {
      const state = $("#job-state");
      state.textContent = job.state.replace(/_/g, " ");
      state.className = `badge state-${job.state}`;
      const pct = percentOf(job);
      const bar = $("#job-progress");
      if (pct === null) bar.removeAttribute("value"); else bar.value = pct;
      $("#job-progress-text").textContent = pct === null ? "scanning…" : `${pct} %`;
      for (const [key, value] of Object.entries(job.counts)) {
        const node = $(`[data-count="${key}"]`);
        if (node) node.textContent = value;
      }
      $("#job-rate").textContent = job.images_per_second === null ? "—" : job.images_per_second.toFixed(1);
      $("#job-eta").textContent = TERMINAL.has(job.state) ? "—" : duration(job.eta_seconds);
      $("#job-started").textContent = when(job.started_at);
      $("#job-finished").textContent = when(job.finished_at);
      const error = $("#job-error");
      error.hidden = !job.error;
      error.textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
      const terminal = TERMINAL.has(job.state);
      $("#job-cancel").disabled = terminal;
      $("#job-retry").disabled = !terminal || (job.counts.failed === 0 && job.counts.pending === 0);
    }

    function appendLog(line) {
      if (line.id <= lastLogId) return;
      lastLogId = line.id;
      const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      const time = new Date(line.at);
      log.append(el("li", { class: `level-${line.level}` },
        el("time", { datetime: line.at, text: Number.isNaN(time.getTime()) ? line.at : time.toLocaleTimeString() }),
        " ", el("span", { text: line.message })));
      while (log.childElementCount > MAX_LOG_LINES) log.firstElementChild.remove();
      if (nearBottom) log.scrollTop = log.scrollHeight;
    }

    async function loadLogs() {
      for (;;) {
        const { logs } = await api("GET", `/api/v1/jobs/${id}/logs?after_id=${lastLogId}&limit=5000`);
        logs.forEach(appendLog);
        if (logs.length < 5000) return;
      }
    }

    async function loadErrors() {
      const { errors } = await api("GET", `/api/v1/jobs/${id}/errors?limit=1000`);
      $("#errors-count").textContent = `(${errors.length}${errors.length >= 1000 ? "+" : ""})`;
      $("#no-errors").hidden = errors.length > 0;
      $("#errors-wrap").hidden = errors.length === 0;
      $("#errors-table tbody").replaceChildren(...errors.map((error) => el("tr", {},
        el("td", { class: "path", "data-label": "File", text: error.path }),
        el("td", { "data-label": "Stage", text: error.stage }),
        el("td", { "data-label": "Code" }, el("code", { text: error.code }),
          error.retriable ? el("span", { class: "badge warning", title: "A retry may help", text: "retriable" }) : null),
        el("td", { "data-label": "Message", text: error.message }))));
    }

    function update(next) {
      const failedChanged = next.counts.failed !== job.counts.failed;
      job = next;
      render();
      if (failedChanged) loadErrors().catch(() => {});
    }

    async function refreshAll() {
      try {
        job = await api("GET", `/api/v1/jobs/${id}`);
        render();
        await Promise.all([loadErrors(), loadLogs()]);
      } catch (err) {
        live.textContent = err.message;
      }
    }

    // Fallback when the event stream is refused (e.g. by a proxy): poll the job every 2 s.
    function poll() {
      if (pollTimer) return;
      pollTimer = setInterval(async () => {
        try {
          update(await api("GET", `/api/v1/jobs/${id}`));
          await loadLogs();
          if (TERMINAL.has(job.state)) {
            clearInterval(pollTimer);
            pollTimer = null;
            live.textContent = "";
            await refreshAll();
          }
        } catch (err) {
          live.textContent = `Cannot reach the server: ${err.message}`;
        }
      }, 2000);
    }

    function follow() {
      if (source || TERMINAL.has(job.state)) return;
      source = new EventSource(`/api/v1/jobs/${id}/events`);
      source.addEventListener("open", () => { live.textContent = "Live updates on."; });
      source.addEventListener("log", (event) => appendLog(JSON.parse(event.data)));
      source.addEventListener("progress", (event) => update(JSON.parse(event.data)));
      source.addEventListener("end", async () => {
        source.close();
        source = null;
        live.textContent = "";
        await refreshAll();
      });
      source.addEventListener("error", () => {
        if (source && source.readyState === EventSource.CLOSED) {
          source = null;
          live.textContent = "Live updates stopped; checking every 2 s.";
          poll();
        } else {
          live.textContent = "Connection lost; reconnecting…";
        }
      });
    }

    $("#job-cancel").addEventListener("click", async (event) => {
      actionError.hidden = true;
      const button = event.currentTarget;
      setBusy(button, true, "Cancelling…");
      try {
        update(await api("POST", `/api/v1/jobs/${id}/cancel`));
        live.textContent = "Cancelling after the batches in flight…";
      } catch (err) {
        actionError.textContent = err.message;
        actionError.hidden = false;
      }
      setBusy(button, false);
      render();
    });

    $("#job-retry").addEventListener("click", async (event) => {
      actionError.hidden = true;
      const button = event.currentTarget;
      setBusy(button, true, "Queuing…");
      try {
        const answer = await api("POST", `/api/v1/jobs/${id}/retry`);
        live.textContent = `${answer.retried} failed file${answer.retried === 1 ? "" : "s"} queued again.`;
        job = await api("GET", `/api/v1/jobs/${id}`);
      } catch (err) {
        actionError.textContent = err.message;
        actionError.hidden = false;
      }
      setBusy(button, false);
      render();
      if (TERMINAL.has(job.state)) await refreshAll();  // a quick retry may be over already
      else follow();
    });

    render();
    loadLogs().catch((err) => { live.textContent = err.message; }).finally(follow);
  }

  // --- search: text / image / more like this, filters from facets, detail dialog -----------------------------

  function initSearch() {
    const form = $("#search-form");
    if (!form) return;
    guardWindowDrops();
    const collection = $("#search-collection");
    const text = $("#search-text");
    const results = $("#results");
    const summary = $("#results-summary");
    const imageInput = $("#search-image");
    const dialog = $("#detail");
    let queryFile = null;
    let previewUrl = null;
    let shown = new Map();
    let current = null; // the point shown in the detail dialog
    wireDialogClose(dialog);

    function flagTestModels() {
      const option = collection.selectedOptions[0];
      $("#tiny-warning").hidden = !option || option.dataset.backend !== "tiny";
    }

    async function loadFacets() {
      const selects = $$("select[data-facet]", form);
      selects.forEach((select) => select.replaceChildren(el("option", { value: "", text: "Any" })));
      if (!collection.value) return;
      try {
        const facets = await api("GET", `/api/v1/collections/${encodeURIComponent(collection.value)}/facets`);
        selects.forEach((select) => {
          for (const { value, count } of facets[select.dataset.facet] || []) {
            select.append(el("option", { value, text: `${value} (${count})` }));
          }
        });
      } catch (err) {
        showError(form, null, `Filters unavailable: ${err.message}`);
      }
    }

    function filters() {
      const out = {};
      const after = $("#taken_after").value;
      const before = $("#taken_before").value;
      // Dates without a zone: EXIF times without an offset are stored as UTC, so compare in UTC too.
      if (after) out.taken_after = `${after}T00:00:00Z`;
      if (before) out.taken_before = `${before}T23:59:59.999Z`;
      for (const key of ["camera", "folder", "format"]) {
        const value = form.elements[key].value;
        if (value) out[key] = value;
      }
      return Object.keys(out).length ? out : null;
    }

    function setQueryFile(file) {
      queryFile = file;
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = file ? URL.createObjectURL(file) : null;
      $("#query-image").hidden = !file;
      if (file) {
        $("#query-preview").src = previewUrl;
        $("#query-name").textContent = file.name;
      } else {
        $("#query-preview").removeAttribute("src");
      }
    }

    function renderResults(list, label) {
      shown = new Map(list.map((hit) => [hit.id, hit]));
      summary.textContent = list.length
        ? `${list.length} image${list.length === 1 ? "" : "s"} ${label}`
        : `No image matches ${label}.`;
      results.replaceChildren(...list.map((hit) => {
        const p = hit.payload || {};
        const name = p.filename || hit.id;
        const caption = p.caption || "";
        return el("li", { class: "result" },
          el("button", { type: "button", class: "result-button", "data-id": hit.id, "aria-label": `Details of ${name}` },
            el("img", { src: hit.thumbnail_url, alt: caption || name, loading: "lazy", decoding: "async" }),
            el("span", { class: "result-caption", text: caption || name }),
            el("span", { class: "result-meta" },
              el("span", { class: "result-name", text: name }),
              el("span", { class: "score", text: hit.score.toFixed(3), title: "Similarity score" }))));
      }));
    }

    async function run(kind, extra = {}) {
      clearErrors(form);
      const name = collection.value;
      const limitValue = Number(form.elements.limit.value || 24);
      if (!Number.isInteger(limitValue) || limitValue < 1 || limitValue > 500) {
        return showError(form, "limit", "Enter a whole number from 1 to 500.");
      }
      const thresholdRaw = form.elements.score_threshold.value.trim();
      const threshold = thresholdRaw === "" ? null : Number(thresholdRaw);
      if (threshold !== null && !Number.isFinite(threshold)) {
        return showError(form, "score_threshold", "Enter a number, or leave it empty.");
      }
      const button = $("#search-submit");
      setBusy(button, true, "Searching…");
      summary.textContent = "Searching…";
      try {
        let answer;
        let label;
        if (kind === "image") {
          const data = new FormData();
          data.append("collection", name);
          data.append("image", queryFile, queryFile.name);
          data.append("limit", String(limitValue));
          if (threshold !== null) data.append("score_threshold", String(threshold));
          const f = filters();
          if (f) data.append("filters", JSON.stringify(f));
          answer = await api("POST", "/api/v1/search/image", data);
          label = `like ${queryFile.name}`;
        } else {
          const { label: pointName, ...query } = extra;
          const body = { collection: name, limit: limitValue, filters: filters(), ...query };
          if (threshold !== null) body.score_threshold = threshold;
          answer = await api("POST", "/api/v1/search", body);
          label = query.point_id ? `like ${pointName}` : `for “${query.text}”`;
        }
        renderResults(answer.results, label);
      } catch (err) {
        summary.textContent = "";
        showApiError(form, err, { "filters": "_form" });
      } finally {
        setBusy(button, false);
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = text.value.trim();
      if (queryFile) return run("image");
      if (!query) {
        clearErrors(form);
        return showError(form, "text", "Type a description, or drop an image to search by.");
      }
      const params = new URLSearchParams({ collection: collection.value, q: query });
      history.replaceState(null, "", `/search?${params}`);
      return run("text", { text: query });
    });

    collection.addEventListener("change", () => {
      history.replaceState(null, "", `/search?collection=${encodeURIComponent(collection.value)}`);
      results.replaceChildren();
      summary.textContent = "";
      flagTestModels();
      loadFacets();
    });

    imageInput.addEventListener("change", () => {
      if (imageInput.files.length) setQueryFile(imageInput.files[0]);
      imageInput.value = "";
    });
    dropZone($("#image-drop"), (files) => setQueryFile(files[0]));
    $("#query-clear").addEventListener("click", () => { setQueryFile(null); imageInput.focus(); });

    // Detail view.
    const FACTS = [
      ["File", (p) => p.filename],
      ["Folder", (p) => p.folder],
      ["Taken", (p) => (p.taken_at ? p.taken_at.replace("T", " ") : null)],
      ["Camera", (p) => p.camera],
      ["Lens", (p) => p.lens],
      ["Location", (p) => (p.gps_latitude != null && p.gps_longitude != null
        ? `${p.gps_latitude.toFixed(5)}, ${p.gps_longitude.toFixed(5)}` : null)],
      ["Format", (p) => p.format],
      ["Size", (p) => (p.width && p.height ? `${p.width} × ${p.height} px` : null)],
      ["File size", (p) => (p.bytes != null ? bytes(p.bytes) : null)],
      ["Orientation", (p) => p.orientation],
      ["Embedding model", (p) => p.embedding_model],
      ["Caption model", (p) => p.caption_model],
      ["Ingested", (p) => (p.ingested_at ? when(p.ingested_at) : null)],
      ["SHA-256", (p) => p.sha256],
    ];

    async function openDetail(id) {
      const name = collection.value;
      let detail;
      try {
        detail = await api("GET", `/api/v1/collections/${encodeURIComponent(name)}/points/${encodeURIComponent(id)}`);
      } catch (err) {
        showError(form, null, err.message);
        return;
      }
      const p = detail.payload || {};
      current = { id: detail.id, name: p.filename || detail.id };
      $("#detail-title").textContent = p.filename || detail.id;
      const image = $("#detail-image");
      image.src = `${detail.thumbnail_url}?size=1024`;
      image.alt = p.caption || p.filename || "";
      const caption = $("#detail-caption");
      caption.replaceChildren(p.caption || "");
      if (p.caption && p.caption_kind) {
        caption.append(" ", el("span", { class: "muted", text: `(${p.caption_kind} caption)` }));
      }
      $("#detail-original").href = detail.original_url;
      const facts = $("#detail-facts");
      facts.replaceChildren();
      const hit = shown.get(detail.id);
      if (hit) facts.append(el("dt", { text: "Score" }), el("dd", { text: hit.score.toFixed(4) }));
      for (const [label, pick] of FACTS) {
        const value = pick(p);
        if (value === null || value === undefined || value === "") continue;
        const wrap = label === "Folder" || label === "SHA-256" ? "path" : null;
        facts.append(el("dt", { text: label }), el("dd", { text: String(value), class: wrap }));
      }
      facts.append(el("dt", { text: "Point id" }), el("dd", { class: "path", text: detail.id }));
      if (!dialog.open) openDialog(dialog);
    }

    results.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      if (button) openDetail(button.dataset.id);
    });

    $("#more-like-this").addEventListener("click", () => {
      if (!current) return;
      dialog.close();
      setQueryFile(null);
      text.value = "";
      run("point", { point_id: current.id, label: current.name });
    });

    // The address keeps the query: a reload (or a shared link) runs it again.
    flagTestModels();
    loadFacets();
    const params = new URLSearchParams(location.search);
    if (params.get("q")) {
      text.value = params.get("q");
      run("text", { text: params.get("q") });
    }
  }

  // --- login ---------------------------------------------------------------------------------------------------

  function initLogin() {
    const form = $("#login-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const token = form.elements.token.value;
      if (!token) return showError(form, "token", "Enter the admin token.");
      const button = $('button[type="submit"]', form);
      setBusy(button, true, "Logging in…");
      try {
        await api("POST", "/api/v1/session", { token });
        location.assign(form.dataset.next || "/");
      } catch (err) {
        showApiError(form, err);
        form.elements.token.select();
        setBusy(button, false);
      }
    });
  }

  const PAGES = {
    dashboard: initDashboard,
    collections: initCollections,
    ingest: initIngest,
    jobs: () => {},
    search: initSearch,
    login: initLogin,
  };

  document.addEventListener("DOMContentLoaded", () => {
    initCommon();
    const page = document.body.dataset.page;
    if (page === "jobs" && $("#job-data")) initJob();
    else if (PAGES[page]) PAGES[page]();
  });
})();
