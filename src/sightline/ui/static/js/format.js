// Numbers and dates as people read them. `duration` is the twin of Python's `sightline.humanize.duration`.

// Python's round(): halves go to the even neighbour (2.5 → 2, 3.5 → 4).
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// null → "—"; 42 → "42 s"; 185 → "3 min 05 s"; 7440 → "2 h 04 min".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  let s = Math.max(0, roundHalfEven(seconds));
  if (s < 60) return `${s} s`;
  let m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return `${m} min ${String(s).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  m %= 60;
  return `${h} h ${String(m).padStart(2, "0")} min`;
}

const pad = (n) => String(n).padStart(2, "0");

// A moment as every page writes it, "2024-06-01 10:00:00" (as Python's `when` in ui/templating.py does): in the
// reader's time zone, or in UTC (`utc`).
function stamp(date, utc = false) {
  const parts = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(),
      date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  const [year, month, day, hours, minutes, seconds] = parts;
  return `${year}-${pad(month)}-${pad(day)} ${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
}

// An ISO timestamp in the reader's time zone; "—" for none, the text itself if it is no date.
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : stamp(date);
}

// "10:00:00", in the reader's time zone.
export function timeOfDay(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : stamp(date).slice(11);
}

// A photo's date from its `sort_ts` (unix seconds; null: none) as the viewer shows it: in UTC, since a camera's
// time without a zone is stored as if it were UTC.
export function photoDate(sortTs) {
  return sortTs === null || sortTs === undefined ? null : stamp(new Date(sortTs * 1000), true);
}

// An image format as people write it: "jpeg" → "JPEG".
export function formatName(format) {
  return format ? String(format).toUpperCase() : format;
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function rate(value) {
  return value === null || value === undefined ? "—" : value.toFixed(1);
}

// plural(1, "file") → "1 file"; plural(3, "file") → "3 files"; plural(2, "match", "matches") → "2 matches".
export function plural(count, word, many = `${word}s`) {
  return `${count} ${count === 1 ? word : many}`;
}

// A job's `percent` as the pages show it: null while the total is not known yet.
export function percentText(percent) {
  return percent === null || percent === undefined ? "scanning…" : `${percent} %`;
}

export function stateLabel(state) {
  return state.replace(/_/g, " ");
}
