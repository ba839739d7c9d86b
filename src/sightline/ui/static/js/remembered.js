// The collection last worked in, remembered in a cookie the server reads (`chosen_collection` in ui/pages.py):
// the top bar's "Photos", "Sources" and "Ingest" open it rather than the first collection.

const COOKIE = "sightline_collection";
const YEAR_S = 365 * 24 * 3600;

export function rememberCollection(name) {
  if (name) document.cookie = `${COOKIE}=${encodeURIComponent(name)}; path=/; max-age=${YEAR_S}; samesite=lax`;
}

// The collection of a collection's own page (sources, duplicates, map), remembered.
export function rememberShownCollection() {
  const here = document.querySelector("#review-data, #sources-data");
  if (here) rememberCollection(here.dataset.collection);
}
