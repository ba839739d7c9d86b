// What the photos page shows, as one object and as its address: the collection, the query (text or "like"
// a photo), the filters. The address holds all of it, so a reload or a shared link shows the same view.

import { formatName } from "./format.js";

const FILTER_KEYS = ["after", "before", "camera", "folder", "format"];
// The search form's own field names, which a plain submit of it (before the page's script has loaded) puts in
// the address: read as the keys they stand for.
const FORM_NAMES = { text: "q", taken_after: "after", taken_before: "before" };

// {collection, q, like, likeName, from, open, filters: {after, before, camera, folder, format}} from a query
// string. `from`: the listing starts at the end of that month ("2023-06") or year ("2023"), newest first.
export function stateFromUrl(search) {
  const params = new URLSearchParams(search);
  for (const [field, key] of Object.entries(FORM_NAMES)) {
    if (params.get(field) && !params.get(key)) params.set(key, params.get(field));
  }
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  return {
    collection: params.get("collection") || "",
    q: params.get("q") || "",
    like: params.get("like") || "",
    likeName: params.get("like_name") || "",
    from: /^\d{4}(-(0[1-9]|1[0-2]))?$/.test(params.get("from") || "") ? params.get("from") : "",
    open: params.get("open") || "", // the photo shown in the viewer
    filters,
  };
}

// The collection to show: the address's when it is one of `names`, else the server's choice (`offered`);
// `unknown` is the address's name that is no collection (an old bookmark, a deleted collection), else "".
export function chooseCollection(asked, names, offered) {
  if (!asked || names.includes(asked)) return { collection: asked || offered, unknown: "" };
  return { collection: offered, unknown: asked };
}

export function urlOfState(state) {
  const params = new URLSearchParams();
  if (state.collection) params.set("collection", state.collection);
  if (state.q) params.set("q", state.q);
  if (state.like) {
    params.set("like", state.like);
    if (state.likeName) params.set("like_name", state.likeName);
  }
  for (const key of FILTER_KEYS) {
    if (state.filters[key]) params.set(key, state.filters[key]);
  }
  if (state.from) params.set("from", state.from);
  if (state.open) params.set("open", state.open);
  return `/search?${params.toString()}`;
}

// The last moment of a month ("2023-06") or a year ("2023"), in UTC, as ISO 8601.
export function periodEnd(key) {
  const [year, month] = key.split("-").map(Number);
  return new Date(Date.UTC(year, month || 12, 1) - 1).toISOString();
}

// The filters as the API takes them, or null for none; `from` (a month or year) ends the listing there. Dates
// without a zone: EXIF times without an offset are stored as UTC, so a day is compared in UTC too.
export function apiFilters(filters, from = "") {
  const out = {};
  if (filters.after) out.taken_after = `${filters.after}T00:00:00Z`;
  if (filters.before) out.taken_before = `${filters.before}T23:59:59.999Z`;
  if (from && !(out.taken_before && out.taken_before < periodEnd(from))) out.taken_before = periodEnd(from);
  for (const key of ["camera", "folder", "format"]) {
    if (filters[key]) out[key] = filters[key];
  }
  return Object.keys(out).length ? out : null;
}

// What is wrong with the date filters, said next to them ({where, message}), or null. The address may hold any
// text ("after=June"), which a date input cannot show: the message names it and the format a date takes.
export function datesProblem(filters) {
  for (const key of ["after", "before"]) {
    const value = filters[key];
    if (value && !isDate(value)) {
      return { where: `filters.taken_${key}`,
        message: `“${value}” is not a date. Enter a date as year-month-day, for example 2023-06-30.` };
    }
  }
  if (filters.after && filters.before && filters.after > filters.before) {
    return { where: "filters", message: `“Taken on or after” (${filters.after}) is later than “Taken on or before” `
      + `(${filters.before}), so no photo can match. Change one of the two dates.` };
  }
  return null;
}

// "2023-06-30": a day of the calendar written as year-month-day (not "2023-02-30").
function isDate(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(text);
}

// "browse" (no query), "text", "similar" (like a photo) or "image" (a query image, not in the address).
export function modeOf(state, hasImage) {
  if (hasImage) return "image";
  if (state.like) return "similar";
  return state.q ? "text" : "browse";
}

const FILTER_LABELS = { after: "From", before: "Until", camera: "Camera", folder: "Folder", format: "Format" };

// The chips of the active filters: [{key, label}]. `named(path)`: a folder's name where the page knows it
// ("Uploaded"), else null.
export function filterChips(filters, named = () => null) {
  const shown = (key) => {
    if (key === "folder") return named(filters[key]) || folderName(filters[key]);
    return key === "format" ? formatName(filters[key]) : filters[key];
  };
  return FILTER_KEYS.filter((key) => filters[key]).map((key) => ({ key, label: `${FILTER_LABELS[key]}: ${shown(key)}` }));
}

function folderName(path) {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

// The query without the words of an understood fact ("beach June 2023" without "June 2023" → "beach").
export function withoutFact(q, text) {
  const at = q.toLowerCase().indexOf(text.toLowerCase());
  if (at < 0) return q;
  return `${q.slice(0, at)} ${q.slice(at + text.length)}`.replace(/\s+/g, " ").trim();
}
