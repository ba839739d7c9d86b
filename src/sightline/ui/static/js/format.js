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

// An ISO timestamp in the reader's locale and time zone; "—" for none, the text itself if it is no date.
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function timeOfDay(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
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
