// Formatting and DOM helpers shared by the page and its charts.

export const number = new Intl.NumberFormat();
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const longDay = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", year: "numeric" });
let regions = null;
try { regions = new Intl.DisplayNames(undefined, { type: "region" }); } catch { regions = null; }

/** "3 h 05 min", "12 min 40 s", "45 s": a whole number of seconds for people. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${number.format(h)} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(r).padStart(2, "0")} s`;
  return `${r} s`;
}

export const dateTime = (iso) => when.format(new Date(iso));
export const timeOfDay = (iso) => clock.format(new Date(iso));
/** A "YYYY-MM-DD" calendar date as written by the API, shown without any time-zone shift. */
export function calendarDay(text, long = false) {
  const [y, m, d] = text.split("-").map(Number);
  return (long ? longDay : shortDay).format(new Date(y, m - 1, d, 12));
}
export function isWeekend(text) {
  const [y, m, d] = text.split("-").map(Number);
  const day = new Date(y, m - 1, d, 12).getDay();
  return day === 0 || day === 6;
}
/** "+12:05" from the session start, for the share log. */
export function offset(fromIso, atIso) {
  const s = Math.max(0, Math.floor((Date.parse(atIso) - Date.parse(fromIso)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? `+${h}:${mm}:${ss}` : `+${mm}:${ss}`;
}
export function countryName(code) {
  if (!code) return "Unknown";
  try { return (regions && regions.of(code)) || code; } catch { return code; }
}
export function place(viewer) {
  const parts = [viewer.city, viewer.region, viewer.country && countryName(viewer.country)].filter(Boolean);
  return parts.length ? parts.join(", ") : "Unknown";
}

/** An element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}
