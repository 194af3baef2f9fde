// The sharelog dashboard: plain JavaScript over the public API, no framework, no CDN.
"use strict";

const KEY_SLOT = "sharelog.key"; // sessionStorage: this tab only, never in a URL
const PAGE = 25;
const MAX_SCAN_PAGES = 20; // sessions read for viewer, country and share figures
const $ = (id) => document.getElementById(id);
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const state = { key: null, from: null, to: null, agent: "", cursors: [null], page: 0, agentRows: [], sort: { key: "meetings", dir: -1 } };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const v of [].concat(value)) query.append(name, v);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  // X-Requested-With: the server then leaves out its Basic challenge, which
  // would make the browser pop up a login dialog on a refused key.
  const headers = { Authorization: `Bearer ${state.key}`, "X-Requested-With": "XMLHttpRequest" };
  const response = await fetch(url, { headers });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// ---- formatting -----------------------------------------------------------
const number = new Intl.NumberFormat();
function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
  return h ? `${number.format(h)} h ${m} min` : `${m} min ${seconds % 60} s`;
}
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
function place(v) { return [v.city, v.region, v.country].filter(Boolean).join(", ") || "unknown"; }
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// ---- the window -----------------------------------------------------------
function localMidnight(date) { return new Date(date.getFullYear(), date.getMonth(), date.getDate()); }
function chooseWindow() {
  const choice = $("range").value, now = new Date();
  if (choice === "month") return [new Date(now.getFullYear(), now.getMonth(), 1), now];
  if (choice === "custom") {
    const from = $("custom-from").valueAsDate, to = $("custom-to").valueAsDate;
    if (!from || !to) return null;
    // Inputs are dates in UTC midnight; take them as local days, the end inclusive.
    const start = new Date(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    const end = new Date(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate() + 1);
    return end > start ? [start, end] : null;
  }
  const days = Number(choice);
  return [new Date(localMidnight(now).getTime() - (days - 1) * 86400000), now];
}

// ---- charts ---------------------------------------------------------------
function barChart(container, values, labels, format) {
  container.replaceChildren();
  const width = 600, height = 160, pad = 18, max = Math.max(1, ...values);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img" });
  const step = (width - 2) / Math.max(1, values.length);
  values.forEach((v, i) => {
    const h = ((height - pad) * v) / max;
    const bar = svg("rect", { x: 1 + i * step + step * 0.1, y: height - pad - h, width: Math.max(1, step * 0.8), height: h });
    const tip = svg("title"); tip.textContent = `${labels[i]}: ${format(v)}`; bar.append(tip);
    chart.append(bar);
  });
  const every = Math.ceil(values.length / 8);
  labels.forEach((label, i) => {
    if (i % every) return;
    const t = svg("text", { x: 1 + i * step, y: height - 4 }); t.textContent = label; chart.append(t);
  });
  container.append(chart);
}

function barList(container, entries, label) {
  container.replaceChildren();
  const max = Math.max(1, ...entries.map(([, n]) => n));
  for (const [name, n] of entries.slice(0, 12)) {
    const bar = el("div", { class: "bar", style: `width:${(100 * n) / max}%` });
    container.append(el("div", { class: "row" }, el("span", {}, name), el("div", {}, bar), el("span", { class: "n" }, number.format(n))));
  }
  if (!entries.length) container.append(el("p", { class: "muted" }, `No ${label} in this window.`));
}

// ---- loading --------------------------------------------------------------
function windowParams() {
  return { from: state.from.toISOString(), to: state.to.toISOString(), agent: state.agent || null };
}

async function loadAll() {
  const range = chooseWindow();
  if (!range) return;
  [state.from, state.to] = range;
  $("window").textContent = `${when.format(state.from)} – ${when.format(state.to)} (${zone})`;
  $("window").dataset.from = state.from.toISOString();
  $("window").dataset.to = state.to.toISOString();
  const [stats, daily] = await Promise.all([
    api("/ss/api/usage", { ...windowParams(), include: "stats" }),
    api("/ss/api/usage/daily", { ...windowParams(), tz: zone }),
  ]);
  showStats(stats.stats);
  showDaily(daily.days);
  if (!state.agent) fillAgents(Object.keys(stats.stats.per_agent));
  state.cursors = [null]; state.page = 0;
  await Promise.all([loadPage(), scanSessions()]);
}

function showStats(stats) {
  const total = stats.total;
  const meetings = $("total-meetings"), seconds = $("total-seconds");
  meetings.dataset.value = total.meetings; meetings.textContent = number.format(total.meetings);
  seconds.dataset.value = total.seconds; seconds.textContent = duration(total.seconds);
  $("average").textContent = total.meetings ? duration(Math.round(total.seconds / total.meetings)) : "–";
  state.agentRows = Object.entries(stats.per_agent).map(([agent, f]) => ({
    agent, meetings: f.meetings, hours: f.seconds / 3600, average: f.meetings ? f.seconds / f.meetings / 60 : 0,
  }));
  renderAgents();
}

function renderAgents() {
  const { key, dir } = state.sort;
  const rows = [...state.agentRows].sort((a, b) => (a[key] < b[key] ? -dir : a[key] > b[key] ? dir : 0));
  const body = $("agents-table").tBodies[0];
  body.replaceChildren(...rows.map((r) => el("tr", {}, el("td", {}, r.agent), el("td", { class: "num" }, number.format(r.meetings)),
    el("td", { class: "num" }, r.hours.toFixed(1)), el("td", { class: "num" }, r.average.toFixed(1)))));
  for (const th of $("agents-table").tHead.rows[0].cells) {
    th.classList.toggle("asc", th.dataset.key === key && dir === 1);
    th.classList.toggle("desc", th.dataset.key === key && dir === -1);
  }
}

function showDaily(days) {
  const labels = days.map((d) => day.format(new Date(`${d.date}T12:00:00`)));
  barChart($("chart-meetings"), days.map((d) => d.meetings), labels, (v) => `${v} meetings`);
  barChart($("chart-hours"), days.map((d) => d.seconds / 3600), labels, (v) => `${v.toFixed(1)} h`);
}

function fillAgents(agents) {
  const select = $("agent"), current = select.value;
  select.replaceChildren(el("option", { value: "" }, "All agents"), ...agents.sort().map((a) => el("option", { value: a }, a)));
  select.value = agents.includes(current) ? current : "";
}

async function scanSessions() {
  // Viewers, countries and share types are not in the stats: count them from the sessions.
  let viewers = 0, cursor = null, pages = 0;
  const countries = new Map(), shares = new Map();
  do {
    const page = await api("/ss/api/usage", { ...windowParams(), include: "sessions", limit: 1000, cursor });
    for (const s of page.sessions) {
      viewers += s.viewers.count;
      for (const g of s.viewers.locations) countries.set(g.country || "unknown", (countries.get(g.country || "unknown") || 0) + g.count);
      for (const sh of s.shares) shares.set(sh.type, (shares.get(sh.type) || 0) + 1);
    }
    cursor = page.next_cursor; pages += 1;
  } while (cursor && pages < MAX_SCAN_PAGES);
  $("viewers").textContent = number.format(viewers);
  $("countries").textContent = number.format([...countries.keys()].filter((c) => c !== "unknown").length);
  $("partial").hidden = !cursor;
  $("partial").textContent = cursor ? `Viewer, country and share figures count the first ${number.format(pages * 1000)} sessions.` : "";
  barList($("chart-countries"), [...countries].sort((a, b) => b[1] - a[1]), "viewers");
  barList($("chart-shares"), [...shares].sort((a, b) => b[1] - a[1]), "shares");
}

async function loadPage() {
  const page = await api("/ss/api/usage", { ...windowParams(), include: "sessions", limit: PAGE, cursor: state.cursors[state.page] });
  state.cursors[state.page + 1] = page.next_cursor;
  $("sessions-table").tBodies[0].replaceChildren(...page.sessions.map((s) => {
    const row = el("tr", { "data-session": s.id },
      el("td", {}, when.format(new Date(s.start))), el("td", {}, s.agent),
      el("td", { class: "num" }, (s.duration / 60).toFixed(1)), el("td", { class: "num" }, s.shares.length),
      el("td", { class: "num" }, s.viewers.count),
      el("td", {}, [...new Set(s.viewers.locations.map((g) => g.country).filter(Boolean))].sort().join(" ")));
    row.addEventListener("click", () => track(openSession(s.id)));
    return row;
  }));
  $("prev").disabled = state.page === 0;
  $("next").disabled = !page.next_cursor;
  $("page-label").textContent = `page ${state.page + 1}`;
}

async function openSession(id) {
  const s = await api(`/ss/api/sessions/${encodeURIComponent(id)}`);
  $("session-title").textContent = `${s.agent} · ${when.format(new Date(s.start))}`;
  $("session-meta").textContent = `${s.id} · ${duration(s.duration)}${s.end ? "" : " (ongoing)"} · ${s.viewers.count} viewers`;
  const start = Date.parse(s.start), end = s.end ? Date.parse(s.end) : Date.now();
  const span = Math.max(1, end - start), width = 700;
  const line = svg("svg", { viewBox: `0 0 ${width} 90`, role: "img" });
  line.append(svg("line", { x1: 10, y1: 30, x2: width - 10, y2: 30 }));
  s.shares.forEach((sh, i) => {
    const x = 10 + ((width - 20) * Math.min(1, Math.max(0, Date.parse(sh.at) - start))) / span;
    line.append(svg("circle", { cx: x, cy: 30, r: 6 }));
    const label = svg("text", { x: Math.min(x, width - 160), y: i % 2 ? 70 : 55 });
    label.textContent = `${sh.type}: ${sh.title || sh.url || ""}`.slice(0, 40);
    line.append(label);
  });
  $("timeline").replaceChildren(s.shares.length ? line : el("p", { class: "muted" }, "Nothing was shared."));
  $("viewers-table").tBodies[0].replaceChildren(...s.viewers.list.map((v) => el("tr", {},
    el("td", {}, v.id), el("td", {}, when.format(new Date(v.joined))), el("td", {}, v.left ? when.format(new Date(v.left)) : "watching"),
    el("td", { class: "num" }, (v.seconds / 60).toFixed(1)), el("td", {}, place(v)))));
  $("session").hidden = false;
}

// ---- wiring -----------------------------------------------------------------
// <body data-busy="N">: how many user actions are still loading (tests wait for 0).
let busy = 0;
function track(promise) {
  document.body.dataset.busy = String(++busy);
  return promise.catch(report).finally(() => { document.body.dataset.busy = String(--busy); });
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) { signOut("That key was refused."); return; }
  $("window").textContent = `Could not load: ${error.message}`;
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_SLOT);
  state.key = null;
  $("dashboard").hidden = true; $("controls").hidden = true; $("session").hidden = true; $("signin").hidden = false;
  $("signin-error").textContent = message;
}

async function signIn(key) {
  state.key = key;
  try {
    await api("/ss/api/usage", { include: "stats" });
  } catch (error) {
    signOut(error instanceof ApiError && error.status === 401 ? "That key was refused." : error.message);
    return;
  }
  sessionStorage.setItem(KEY_SLOT, key);
  $("signin").hidden = true; $("dashboard").hidden = false; $("controls").hidden = false;
  await loadAll();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  track(signIn($("api-key").value.trim()));
  $("api-key").value = "";
});
$("sign-out").addEventListener("click", () => signOut());
$("range").addEventListener("change", () => {
  $("custom").hidden = $("range").value !== "custom";
  if ($("range").value !== "custom") track(loadAll());
});
$("apply-custom").addEventListener("click", () => track(loadAll()));
$("agent").addEventListener("change", () => { state.agent = $("agent").value; track(loadAll()); });
$("prev").addEventListener("click", () => { state.page -= 1; track(loadPage()); });
$("next").addEventListener("click", () => { state.page += 1; track(loadPage()); });
$("close-session").addEventListener("click", () => { $("session").hidden = true; });
for (const th of $("agents-table").tHead.rows[0].cells) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "agent" ? 1 : -1 };
    renderAgents();
  });
}

const saved = sessionStorage.getItem(KEY_SLOT);
document.body.dataset.busy = "0";
if (saved) track(signIn(saved));
