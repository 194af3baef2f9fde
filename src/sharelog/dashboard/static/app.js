// The sharelog dashboard: plain JavaScript over the public API, no framework, no CDN.
import { dayChart, sessionTimeline } from "./charts.js";
import { createAdmin } from "./admin.js";
import { api, ApiError, setKey } from "./api.js";
import { calendarDay, countryName, dateTime, duration, el, number, offset, place } from "./format.js";

const KEY_SLOT = "sharelog.key"; // sessionStorage: this tab only, never in a URL
const PAGE = 25;
const SCAN_PAGE = 1000;
const MAX_SCAN_PAGES = 20; // at most 20,000 sessions read for the viewer, country and share figures
const $ = (id) => document.getElementById(id);

const state = {
  usageShown: false, from: null, to: null, agent: "", zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  generation: 0, cursors: [null], page: 0, meetings: 0, agentRows: [], sort: { key: "meetings", dir: -1 },
  days: [], session: null,
};

/** Thrown to drop the answers of a load that a newer one replaced. */
class Superseded extends Error {}
function current(generation) {
  if (generation !== state.generation) throw new Superseded();
}

// ---- the window -------------------------------------------------------------
function dateInput(date) {
  const m = String(date.getMonth() + 1).padStart(2, "0"), d = String(date.getDate()).padStart(2, "0");
  return `${date.getFullYear()}-${m}-${d}`;
}

/** [from, to) as local Dates for the picked range, or null when the custom dates are not a range. */
function chooseWindow() {
  const choice = $("range").value, now = new Date();
  const y = now.getFullYear(), m = now.getMonth(), d = now.getDate();
  if (choice === "month") return [new Date(y, m, 1), now];
  if (choice === "custom") {
    const from = $("custom-from").value, to = $("custom-to").value;
    if (!from || !to) return null;
    const [fy, fm, fd] = from.split("-").map(Number), [ty, tm, td] = to.split("-").map(Number);
    const start = new Date(fy, fm - 1, fd), end = new Date(ty, tm - 1, td + 1); // the end date is included
    return end > start ? [start, end] : null;
  }
  return [new Date(y, m, d - (Number(choice) - 1)), now]; // today and the days before it
}

function windowParams() {
  return { from: state.from.toISOString(), to: state.to.toISOString(), agent: state.agent || null };
}

// ---- loading ----------------------------------------------------------------
async function loadAll() {
  const range = chooseWindow();
  if (!range) { $("custom-error").textContent = "Pick a start date on or before the end date."; return; }
  $("custom-error").textContent = "";
  const generation = ++state.generation;
  [state.from, state.to] = range;
  const label = $("window");
  label.textContent = `${dateTime(state.from)} – ${dateTime(state.to)} · days in ${state.zone}`;
  label.dataset.from = state.from.toISOString();
  label.dataset.to = state.to.toISOString();
  $("dashboard").classList.add("loading");
  const [stats, daily] = await Promise.all([
    api("/ss/api/usage", { ...windowParams(), include: "stats" }),
    loadDaily(),
  ]);
  current(generation);
  showStats(stats.stats);
  showDaily(daily.days);
  if (!state.agent) fillAgents(Object.keys(stats.stats.per_agent));
  state.cursors = [null]; state.page = 0;
  await Promise.all([loadPage(generation), scanSessions(generation), loadClients(generation)]);
  $("dashboard").classList.remove("loading");
}

async function loadClients(generation) {
  // Browsers and the highest peak of the window, counted by the server.
  const clients = await api("/ss/api/usage/clients", windowParams());
  current(generation);
  setFigure("peak-viewers", clients.peak, number.format(clients.peak));
  const rows = clients.browsers.map((g) => [g.name || "Unknown", g.count]);
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  shareTable($("browsers-table"), rows, total, "No viewers in this window.");
}

async function loadDaily() {
  try {
    return await api("/ss/api/usage/daily", { ...windowParams(), tz: state.zone });
  } catch (error) {
    // A browser may name a zone the server's database lacks: cut days in UTC then.
    if (!(error instanceof ApiError && error.parameter === "tz") || state.zone === "UTC") throw error;
    state.zone = "UTC";
    $("window").textContent = `${dateTime(state.from)} – ${dateTime(state.to)} · days in UTC`;
    return api("/ss/api/usage/daily", { ...windowParams(), tz: state.zone });
  }
}

function setFigure(id, value, text) {
  const node = $(id);
  node.dataset.value = value;
  node.textContent = text;
}

function showStats(stats) {
  const { meetings, seconds } = stats.total;
  state.meetings = meetings;
  setFigure("total-meetings", meetings, number.format(meetings));
  setFigure("total-seconds", seconds, duration(seconds));
  setFigure("average", meetings ? Math.floor(seconds / meetings) : 0, meetings ? duration(seconds / meetings) : "–");
  state.agentRows = Object.entries(stats.per_agent).map(([agent, f]) => ({
    agent, meetings: f.meetings, seconds: f.seconds, average: f.meetings ? f.seconds / f.meetings : 0,
  }));
  renderAgents();
}

function renderAgents() {
  const { key, dir } = state.sort;
  const rows = [...state.agentRows].sort((a, b) => (a[key] < b[key] ? -dir : a[key] > b[key] ? dir : a.agent < b.agent ? -1 : 1));
  const most = Math.max(1, ...rows.map((r) => r.meetings));
  $("agents-table").tBodies[0].replaceChildren(...rows.map((r) => {
    const bar = el("span", { class: "bar" });
    bar.style.width = `${(100 * r.meetings) / most}%`;
    return el("tr", { "data-agent": r.agent },
      el("td", { class: "agent" }, r.agent),
      el("td", { class: "num" }, number.format(r.meetings)),
      el("td", { class: "num" }, (r.seconds / 3600).toFixed(1)),
      el("td", { class: "num" }, duration(r.average)),
      el("td", { class: "meter" }, bar));
  }));
  $("agents-empty").hidden = rows.length > 0;
  for (const th of $("agents-table").tHead.rows[0].cells) {
    if (!th.dataset.key) continue;
    th.setAttribute("aria-sort", th.dataset.key !== key ? "none" : dir === 1 ? "ascending" : "descending");
  }
}

function showDaily(days) {
  state.days = days;
  drawDaily();
  const busiest = days.reduce((best, d) => (d.meetings > (best ? best.meetings : 0) ? d : best), null);
  $("busiest").textContent = busiest ? `Busiest day: ${calendarDay(busiest.date, true)}, ${number.format(busiest.meetings)} meetings` : "No meetings in this window.";
}

function drawDaily() {
  const days = state.days;
  dayChart($("chart-meetings"), days, {
    kind: "meetings", value: (d) => d.meetings, label: (v) => number.format(v),
    tip: (d) => `${calendarDay(d.date, true)}: ${number.format(d.meetings)} meetings`,
  });
  dayChart($("chart-hours"), days, {
    kind: "hours", value: (d) => d.seconds / 3600, label: (v) => number.format(Math.round(v * 10) / 10),
    tip: (d) => `${calendarDay(d.date, true)}: ${duration(d.seconds)}`,
  });
}

function fillAgents(agents) {
  const select = $("agent"), chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "All agents"), ...agents.sort().map((a) => el("option", { value: a }, a)));
  select.value = agents.includes(chosen) ? chosen : "";
}

function tally(map, key, n = 1) { map.set(key, (map.get(key) || 0) + n); }

async function scanSessions(generation) {
  // Viewers, countries and share types are not in the stats: count them from the sessions.
  for (const id of ["viewers", "countries"]) setFigure(id, "", "…");
  let viewers = 0, cursor = null, pages = 0;
  const countries = new Map(), shares = new Map();
  do {
    const page = await api("/ss/api/usage", { ...windowParams(), include: "sessions", limit: SCAN_PAGE, cursor });
    current(generation);
    for (const s of page.sessions) {
      viewers += s.viewers.count;
      for (const g of s.viewers.locations) tally(countries, g.country, g.count);
      for (const share of s.shares) tally(shares, share.type);
    }
    cursor = page.next_cursor; pages += 1;
  } while (cursor && pages < MAX_SCAN_PAGES);
  const known = [...countries.keys()].filter(Boolean).length;
  setFigure("viewers", viewers, number.format(viewers));
  setFigure("countries", known, number.format(known));
  $("partial").hidden = !cursor;
  $("partial").textContent = cursor ? `Viewers, countries and share types count the first ${number.format(pages * SCAN_PAGE)} sessions of the window.` : "";
  const countryRows = [...countries].sort((a, b) => b[1] - a[1] || (a[0] === null) - (b[0] === null) || String(a[0]).localeCompare(String(b[0])));
  shareTable($("countries-table"), countryRows.map(([code, n]) => [code ? `${countryName(code)} (${code})` : "Unknown", n]), viewers, "No viewers in this window.");
  const shareRows = [...shares].sort((a, b) => b[1] - a[1]);
  const allShares = shareRows.reduce((sum, [, n]) => sum + n, 0);
  shareTable($("shares-table"), shareRows, allShares, "Nothing was shared in this window.", true);
}

/** Rows of [label, count] with the count's share of `total` as a bar. */
function shareTable(table, rows, total, empty, typed = false) {
  const body = table.tBodies[0];
  if (!rows.length) { body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted" }, empty))); return; }
  const most = Math.max(1, ...rows.map(([, n]) => n));
  body.replaceChildren(...rows.map(([name, n]) => {
    const bar = el("span", { class: typed ? `bar ${name}` : "bar" });
    bar.style.width = `${(100 * n) / most}%`;
    return el("tr", {}, el("td", {}, name), el("td", { class: "num" }, number.format(n)),
      el("td", { class: "num muted" }, `${total ? Math.round((100 * n) / total) : 0}%`), el("td", { class: "meter" }, bar));
  }));
}

async function loadPage(generation = state.generation) {
  const page = await api("/ss/api/usage", { ...windowParams(), include: "sessions", limit: PAGE, cursor: state.cursors[state.page] });
  current(generation);
  state.cursors[state.page + 1] = page.next_cursor;
  $("sessions-table").tBodies[0].replaceChildren(...page.sessions.map((s) => {
    const countries = [...new Set(s.viewers.locations.map((g) => g.country).filter(Boolean))].sort();
    const row = el("tr", { "data-session": s.id, tabindex: 0 },
      el("td", {}, dateTime(s.start)), el("td", {}, s.agent),
      el("td", { class: "num" }, s.end ? duration(s.duration) : `${duration(s.duration)} (live)`),
      el("td", { class: "num" }, s.shares.length), el("td", { class: "num" }, s.viewers.count),
      el("td", { class: "codes" }, countries.join(" ")));
    row.addEventListener("click", () => track(openSession(s.id)));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") track(openSession(s.id)); });
    return row;
  }));
  const first = state.page * PAGE;
  $("sessions-empty").hidden = page.sessions.length > 0;
  $("prev").disabled = state.page === 0;
  $("next").disabled = !page.next_cursor;
  $("page-label").textContent = page.sessions.length
    ? `${number.format(first + 1)}–${number.format(first + page.sessions.length)} of ${number.format(state.meetings)}`
    : "";
}

async function openSession(id) {
  const s = await api(`/ss/api/sessions/${encodeURIComponent(id)}`);
  state.session = s;
  $("session-title").textContent = `${s.agent}`;
  $("session-meta").textContent = `${s.agent_name ? `${s.agent_name} · ` : ""}${dateTime(s.start)} · ${duration(s.duration)}${s.end ? "" : " so far (ongoing)"} · ${s.viewers.count} viewer${s.viewers.count === 1 ? "" : "s"} · ${s.id}`;
  setFigure("session-peak", s.viewers.peak ?? 0, number.format(s.viewers.peak ?? 0));
  setFigure("session-webcam", s.webcam_seconds ?? 0, duration(s.webcam_seconds ?? 0));
  const kinds = (field) => {
    const counts = new Map();
    for (const v of s.viewers.list) tally(counts, v[field] || "unknown");
    return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, n]) => `${name} ${n}`).join(", ") || "–";
  };
  $("session-clients").textContent = `Browsers: ${kinds("browser")} · Systems: ${kinds("os")} · Devices: ${kinds("device")}`;
  $("shares-list").replaceChildren(...(s.shares.length ? s.shares.map((share) => el("li", {},
    el("span", { class: "at" }, offset(s.start, share.at)), el("span", { class: `type ${share.type}` }, share.type),
    el("span", { class: "title" }, share.title || "(untitled)"),
    share.url ? el("span", { class: "url" }, share.url) : null)) : [el("li", { class: "muted" }, "Nothing was shared.")]));
  $("viewers-table").tBodies[0].replaceChildren(...s.viewers.list.map((v) => el("tr", {},
    el("td", {}, v.id), el("td", {}, dateTime(v.joined)), el("td", {}, v.left ? dateTime(v.left) : "watching"),
    el("td", { class: "num" }, duration(v.watched_seconds ?? v.seconds)),
    el("td", { class: "num" }, (v.segments || []).length || 1),
    el("td", {}, [v.browser, v.os].filter(Boolean).join(" on ") || "–"), el("td", {}, v.device || "–"),
    el("td", {}, place(v)))));
  $("viewers-empty").hidden = s.viewers.list.length > 0;
  $("session").hidden = false;
  $("backdrop").hidden = false;
  sessionTimeline($("timeline"), s, new Date().toISOString());
  $("close-session").focus();
}

function closeSession() {
  $("session").hidden = true;
  $("backdrop").hidden = true;
  state.session = null;
}

// ---- wiring -----------------------------------------------------------------
// <body data-busy="N">: how many user actions are still loading (tests wait for 0).
let busy = 0;
function track(promise) {
  document.body.dataset.busy = String(++busy);
  return Promise.resolve(promise).catch(report).finally(() => { document.body.dataset.busy = String(--busy); });
}
const admin = createAdmin({ track, signOut });

function report(error) {
  if (error instanceof Superseded) return;
  $("dashboard").classList.remove("loading");
  if (error instanceof ApiError && error.status === 401) { signOut("That key was refused."); return; }
  $("problem").textContent = `Could not load: ${error.message}`;
  $("problem").hidden = false;
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_SLOT);
  setKey(null);
  state.generation += 1;
  state.usageShown = false;
  closeSession();
  admin.clear();
  $("dashboard").hidden = true; $("admin").hidden = true; $("controls").hidden = true; $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").focus();
}

async function signIn(key) {
  setKey(key);
  $("signin-error").textContent = "";
  try {
    await api("/ss/api/usage", { include: "stats", to: new Date().toISOString() });
  } catch (error) {
    signOut(error instanceof ApiError && error.status === 401 ? "That key was refused." : error.message);
    return;
  }
  sessionStorage.setItem(KEY_SLOT, key);
  $("signin").hidden = true; $("controls").hidden = false;
  await showView();
}

/** The view the address names: "#admin" is Administration, anything else the usage overview. */
async function showView() {
  const name = location.hash === "#admin" ? "admin" : "usage";
  $("dashboard").hidden = name !== "usage"; $("filters").hidden = name !== "usage"; $("admin").hidden = name !== "admin";
  for (const tab of document.querySelectorAll("#views a")) {
    if (tab.dataset.view === name) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  $("view-name").textContent = name === "admin" ? "administration" : "usage";
  document.title = `sharelog · ${$("view-name").textContent}`;
  if (name === "admin") { await admin.show(); return; }
  // The overview loads once a sign-in; coming back to it keeps what it showed.
  if (!state.usageShown) { state.usageShown = true; await loadAll(); }
}

function reload() {
  $("problem").hidden = true;
  return track(loadAll());
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  $("api-key").value = "";
  if (key) track(signIn(key));
});
$("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => { if (!$("controls").hidden) track(showView()); });
$("range").addEventListener("change", () => {
  const custom = $("range").value === "custom";
  $("custom").hidden = !custom;
  if (!custom) { reload(); return; }
  // Start the custom dates from the window on screen.
  if (state.from && !$("custom-from").value) {
    $("custom-from").value = dateInput(state.from);
    $("custom-to").value = dateInput(new Date(state.to.getTime() - 1));
  }
});
$("custom").addEventListener("submit", (event) => { event.preventDefault(); reload(); });
$("agent").addEventListener("change", () => { state.agent = $("agent").value; reload(); });
$("prev").addEventListener("click", () => { state.page -= 1; track(loadPage()); });
$("next").addEventListener("click", () => { state.page += 1; track(loadPage()); });
$("close-session").addEventListener("click", closeSession);
$("backdrop").addEventListener("click", closeSession);
document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("session").hidden) closeSession(); });
$("agents-table").addEventListener("click", (event) => {
  const th = event.target.closest("th[data-key]");
  if (!th) return;
  const key = th.dataset.key;
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "agent" ? 1 : -1 };
  renderAgents();
});
let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (state.days.length) drawDaily();
    if (state.session) sessionTimeline($("timeline"), state.session, new Date().toISOString());
  }, 150);
});

document.body.dataset.busy = "0";
const saved = sessionStorage.getItem(KEY_SLOT);
if (saved) track(signIn(saved));
else $("api-key").focus();
