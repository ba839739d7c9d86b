// Sightline admin UI: the pages are rendered on the server; these modules send the forms to the JSON API
// and keep the pages live (fetch + EventSource). No framework, no build step: `<body data-page>` picks
// the page's module.

import { del } from "./api.js";
import { $, localTimes } from "./dom.js";
import { api, pages } from "./urls.js";
import { initCollections } from "./collections.js";
import { initDashboard } from "./dashboard.js";
import { initIngest } from "./ingest.js";
import { initJob } from "./job.js";
import { initLogin } from "./login.js";
import { initSearch } from "./search.js";
import { rememberShownCollection } from "./remembered.js";

const PAGES = {
  dashboard: initDashboard,
  collections: initCollections,
  ingest: initIngest,
  jobs: () => { if ($("#job-data")) initJob(); }, // the jobs list needs no script; one job's page does
  search: initSearch,
  login: initLogin,
};

function initLogout() {
  const logout = $("#logout");
  if (!logout) return;
  logout.addEventListener("click", async () => {
    try { await del(api.session); } finally { location.assign(pages.login()); }
  });
}

localTimes();
initLogout();
rememberShownCollection();
const init = PAGES[document.body.dataset.page];
if (init) init();
