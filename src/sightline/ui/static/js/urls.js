// Every URL the pages use, written once: the JSON API (`api`) and the pages themselves (`pages`).

const enc = encodeURIComponent;
const query = (params) => new URLSearchParams(params).toString();

const collection = (name) => `/api/v1/collections/${enc(name)}`;
const job = (id) => `/api/v1/jobs/${enc(id)}`;

export const api = {
  session: "/api/v1/session",
  browse: (path) => (path ? `/api/v1/browse?${query({ path })}` : "/api/v1/browse"),
  collections: "/api/v1/collections",
  collection,
  facets: (name) => `${collection(name)}/facets`,
  point: (name, id) => `${collection(name)}/points/${enc(id)}`,
  scan: "/api/v1/ingest/scan",
  upload: "/api/v1/ingest/upload",
  jobs: ({ state = [], limit = 50 }) =>
    `/api/v1/jobs?${new URLSearchParams([...state.map((s) => ["state", s]), ["limit", limit]]).toString()}`,
  job,
  jobEvents: (id) => `${job(id)}/events`,
  jobLogs: (id, afterId, limit) => `${job(id)}/logs?${query({ after_id: afterId, limit })}`,
  jobErrors: (id, limit) => `${job(id)}/errors?${query({ limit })}`,
  jobCancel: (id) => `${job(id)}/cancel`,
  jobRetry: (id) => `${job(id)}/retry`,
  search: "/api/v1/search",
  searchImage: "/api/v1/search/image",
};

export const pages = {
  home: "/",
  login: (next) => (next ? `/login?${query({ next })}` : "/login"),
  job: (id) => `/jobs/${enc(id)}`,
  collections: (params) => `/collections?${query(params)}`,
  search: (params) => `/search?${query(params)}`,
};

// The photos page (issue 13).
api.folders = (name) => `${collection(name)}/folders`;
api.months = (name, filters = {}) => `${collection(name)}/months?${query(filters)}`;

// The review pages and their API: duplicates, the map, collections from a selection, random images.
export const review = {
  duplicates: (name, params) => `${collection(name)}/duplicates?${query(params)}`,
  dismiss: (name) => `${collection(name)}/duplicates/dismiss`,
  keep: (name) => `${collection(name)}/duplicates/keep`,
  map: (name) => `${collection(name)}/map`,
  random: (name) => `${collection(name)}/random`,
  task: (id) => `/api/v1/review/tasks/${enc(id)}`,
  thumbnail: (name, id, size) => `${collection(name)}/points/${enc(id)}/thumbnail?${query({ size })}`,
  duplicatesPage: (name) => `/collections/${enc(name)}/duplicates`,
  mapPage: (name) => `/collections/${enc(name)}/map`,
};

// A collection's sources (folders it follows).
api.sources = (name) => `${collection(name)}/sources`;
api.source = (name, id) => `${api.sources(name)}/${enc(id)}`;
api.sourceSync = (name, id) => `${api.source(name, id)}/sync`;
api.sourceRemoved = (name, id) => `${api.source(name, id)}/removed`;
api.sourceRemove = (name, id, removePoints) => `${api.source(name, id)}?${query({ remove_points: removePoints })}`;

// Merging a collection into another (a review task, followed through review.task).
review.merge = (name) => `${collection(name)}/merge`;

// A collection's sources page (where removed photos of a followed folder are brought back).
review.sourcesPage = (name) => `/collections/${enc(name)}/sources`;

// The ML service's state, the store, the roots (polled while the ML service is not up).
api.status = "/api/v1/status";
