// SVG charts drawn by hand: a per-day bar chart and a session's timeline.
import { calendarDay, isWeekend, number, offset, svg, timeOfDay } from "./format.js";

/** A round step so that about `count` gridlines cover 0..max. */
function niceStep(max, count) {
  const raw = max / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step || raw;
}

/**
 * Bars per day. `days` are the API's {date, ...}; `value(day)` the bar's height,
 * `label(v)` the axis text, `tip(day)` a hover title.
 */
export function dayChart(container, days, { value, label, tip, kind }) {
  const width = Math.max(280, container.clientWidth || 560), height = 190;
  const left = 40, right = 8, top = 10, bottom = 24;
  const plotW = width - left - right, plotH = height - top - bottom;
  const values = days.map(value);
  const max = Math.max(...values, 0);
  const step = max > 0 ? niceStep(max, 4) : 1;
  const top_ = max > 0 ? Math.ceil(max / step) * step : 4 * step;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: `day-chart ${kind}` });
  const y = (v) => top + plotH - (plotH * v) / top_;
  for (let v = 0; v <= top_ + 1e-9; v += step) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: v ? "gridline" : "axis" }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 3, class: "tick", "text-anchor": "end" }, label(v)));
  }
  const slot = plotW / Math.max(1, days.length);
  const every = Math.ceil(days.length / Math.max(1, Math.floor(plotW / 56)));
  days.forEach((day, i) => {
    const x = left + i * slot;
    if (isWeekend(day.date)) chart.append(svg("rect", { x, y: top, width: slot, height: plotH, class: "weekend" }));
    const h = plotH - (y(values[i]) - top);
    const bar = svg("rect", {
      x: x + slot * 0.15, y: y(values[i]), width: Math.max(1, slot * 0.7), height: Math.max(0, h), class: "bar", rx: 1.5,
      "data-date": day.date, "data-value": values[i],
    });
    bar.append(svg("title", {}, tip(day)));
    chart.append(bar);
    if (i % every === 0) {
      chart.append(svg("text", { x: x + slot / 2, y: height - 6, class: "tick", "text-anchor": "middle" }, calendarDay(day.date)));
    }
  });
  container.replaceChildren(chart);
}

const LANE = 22;

/**
 * A session on one time axis: the share log as consecutive segments (each share
 * lasts until the next one or the end), then one lane per viewer from joined to left.
 */
export function sessionTimeline(container, session, nowIso) {
  const startMs = Date.parse(session.start);
  const endIso = session.end || nowIso;
  const endMs = Math.max(startMs + 1000, Date.parse(endIso));
  const viewers = session.viewers.list || [];
  const width = Math.max(320, container.clientWidth || 720);
  const left = 110, right = 16, top = 22;
  const height = top + LANE * (1 + viewers.length) + 26;
  const x = (iso) => left + ((width - left - right) * Math.min(1, Math.max(0, (Date.parse(iso) - startMs) / (endMs - startMs))));
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "timeline" });

  for (let i = 0; i <= 4; i += 1) {
    const at = new Date(startMs + ((endMs - startMs) * i) / 4).toISOString();
    const gx = x(at);
    chart.append(svg("line", { x1: gx, x2: gx, y1: top - 6, y2: height - 22, class: "gridline" }));
    chart.append(svg("text", { x: gx, y: height - 8, class: "tick", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, timeOfDay(at)));
  }
  chart.append(svg("text", { x: 0, y: top + 14, class: "lane-label" }, "Shared"));
  session.shares.forEach((share, i) => {
    const until = i + 1 < session.shares.length ? session.shares[i + 1].at : endIso;
    const x0 = x(share.at), x1 = Math.max(x0 + 3, x(until));
    const seg = svg("rect", { x: x0, y: top, width: x1 - x0, height: LANE - 6, rx: 3, class: `share ${share.type}` });
    seg.append(svg("title", {}, `${offset(session.start, share.at)} ${share.type}: ${share.title || share.url || ""}`));
    chart.append(seg);
  });
  if (!session.shares.length) chart.append(svg("text", { x: left, y: top + 12, class: "tick" }, "nothing was shared"));
  viewers.forEach((viewer, i) => {
    const y = top + LANE * (i + 1);
    chart.append(svg("text", { x: 0, y: y + 12, class: "lane-label" }, viewer.id.length > 14 ? `${viewer.id.slice(0, 13)}…` : viewer.id));
    // One bar per segment (a server without segments: joined to left).
    const segments = viewer.segments || [{ joined: viewer.joined, left: viewer.left }];
    const watched = viewer.watched_seconds ?? viewer.seconds;
    for (const segment of segments) {
      const x0 = x(segment.joined), x1 = Math.max(x0 + 3, x(segment.left || endIso));
      const bar = svg("rect", { x: x0, y: y + 2, width: x1 - x0, height: LANE - 10, rx: 3, class: "presence", "data-viewer": viewer.id });
      bar.append(svg("title", {}, `${viewer.id}: ${offset(session.start, segment.joined)} – ${segment.left ? offset(session.start, segment.left) : "still watching"} (${number.format(Math.floor(watched / 60))} min in all)`));
      chart.append(bar);
    }
  });
  container.replaceChildren(chart);
}
