// The IOAM console: plain JavaScript and SVG over the collector's JSON API, no dependencies.
// Each view reads only bounded summaries (or one page of records), polled while "live" is on
// with If-None-Match: an unchanged answer is a 304 and nothing is parsed or drawn again, so
// the tab stays idle however fast records arrive. Errors (API and JavaScript) are listed in
// #errors, which the browser test checks.
"use strict";

const POLL_MS = 2000;
const MAX_ERRORS = 20;
const state = { view: "", arg: "", live: true, busy: false, etags: new Map(), cache: new Map() };

// ---- errors -------------------------------------------------------------------------------
function reportError(message) {
  const list = document.getElementById("errors");
  if (list.children.length >= MAX_ERRORS) return;
  const li = document.createElement("li");
  li.textContent = message;
  list.appendChild(li);
}
window.addEventListener("error", (e) => reportError(`JavaScript error: ${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener("unhandledrejection", (e) => reportError(`JavaScript error: ${e.reason && e.reason.message ? e.reason.message : e.reason}`));

// ---- formatting ---------------------------------------------------------------------------
function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function fmtNs(ns) {
  if (ns === null || ns === undefined) return "—";
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}
// Local time; `ms` adds milliseconds (records, which come many per second).
function fmtTime(ns, ms = false) {
  if (!ns) return "—";
  const d = new Date(ns / 1e6);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    (ms ? `.${p(d.getMilliseconds(), 3)}` : "");
}
function fmtAgo(ns) {
  if (!ns) return "—";
  const s = Math.max(0, Date.now() / 1e3 - ns / 1e9);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
function fmtCount(n) {
  if (n === null || n === undefined) return "—";
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 1 });
}
// A segment's lost packets never crossed it; a path's are among its packets (the path as far
// as they went).
function lossPct(lost, packets) {
  const total = packets + lost;
  return total > 0 ? (100 * lost) / total : 0;
}
const lossOf = (s) => (s.nodes ? (s.packets ? (100 * s.lost) / s.packets : 0) : lossPct(s.lost, s.packets));
function fmtPct(p) {
  return p === 0 ? "0 %" : `${p < 0.01 ? p.toExponential(1) : p.toPrecision(3)} %`;
}
const pathText = (nodes) => nodes.map((n) => (n === null ? "?" : n)).join(" → ");

// ---- API ----------------------------------------------------------------------------------
// Returns {data, changed}; a 304 gives the cached body and changed=false.
async function api(path, params = {}) {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  const url = q ? `${path}?${q}` : path;
  const headers = {};
  if (state.etags.has(url) && state.cache.has(url)) headers["If-None-Match"] = state.etags.get(url);
  const res = await fetch(url, { cache: "no-store", headers });
  if (res.status === 304) return { data: state.cache.get(url), changed: false };
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${body && body.error ? ` (${body.error})` : ""}`);
  // Only the current view's answers are kept: the cache holds a few bounded bodies.
  if (state.cache.size > 32) { state.cache.clear(); state.etags.clear(); }
  const tag = res.headers.get("ETag");
  if (tag) { state.etags.set(url, tag); state.cache.set(url, body); }
  return { data: body, changed: true };
}

// The chosen window as API parameters (ns); "all stored" has no bounds.
function windowParams() {
  const secs = Number(document.getElementById("window").value);
  if (!secs) return {};
  // Whole seconds, so that a poll repeats the same URL within a second and can hit its ETag.
  const now = Math.floor(Date.now() / 1e3);
  return { from: `${now - secs}000000000` };
}

// ---- SVG helpers --------------------------------------------------------------------------
function svgEl(tag, attrs = {}, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// A path as nodes left to right; each edge shows its segment's p50 / p99 and loss.
function pathGraph(nodes, segmentsByKey) {
  const gap = 190, r = 20, y = 55;
  const svg = svgEl("svg", { class: "path-graph", "data-nodes": nodes.length,
    width: gap * (nodes.length - 1) + 2 * (r + 30), height: 110 });
  nodes.forEach((n, i) => {
    if (i === 0) return;
    const seg = segmentsByKey.get(`${nodes[i - 1]}>${n}`);
    const x1 = 50 + gap * (i - 1), x2 = 50 + gap * i;
    const lossy = seg && seg.lost > 0;
    const g = svgEl("g", { class: `edge${lossy ? " lossy" : ""}`, "data-from": nodes[i - 1], "data-to": n });
    g.appendChild(svgEl("line", { x1: x1 + r, y1: y, x2: x2 - r, y2: y }));
    const mid = (x1 + x2) / 2;
    g.appendChild(svgEl("text", { x: mid, y: y - 12, class: "delay" },
      seg ? `p50 ${fmtNs(seg.delay_p50_ns)} · p99 ${fmtNs(seg.delay_p99_ns)}` : "no segment data"));
    if (seg) {
      g.appendChild(svgEl("text", { x: mid, y: y + 22, class: lossy ? "loss" : "" },
        `loss ${fmtPct(lossOf(seg))} (${fmtCount(seg.lost)})`));
    }
    svg.appendChild(g);
  });
  nodes.forEach((n, i) => {
    const g = svgEl("g", { class: "node", "data-node": n === null ? "" : n });
    g.appendChild(svgEl("circle", { cx: 50 + gap * i, cy: y, r }));
    g.appendChild(svgEl("text", { x: 50 + gap * i, y }, n === null ? "?" : String(n)));
    svg.appendChild(g);
  });
  return svg;
}

// A line chart of delay percentiles (p50 line, p50..p99 band) over packets and loss bars.
function seriesChart(points, pick) {
  const W = 900, H = 300, L = 70, R = 10, T = 10, DH = 190, BH = 60;
  const svg = svgEl("svg", { class: "series", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const rows = points.map((p) => ({ t: p.t_ns, s: pick(p) }));
  const withData = rows.filter((r) => r.s && r.s.delay_p99_ns !== null);
  if (!rows.length) return svg;
  const t0 = rows[0].t, t1 = rows[rows.length - 1].t, span = Math.max(1, t1 - t0);
  const x = (t) => L + ((W - L - R) * (t - t0)) / span;
  const maxD = Math.max(1, ...withData.map((r) => r.s.delay_p99_ns));
  const yd = (v) => T + DH - (DH * v) / maxD;
  svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: T + DH, x2: W - R, y2: T + DH }));
  svg.appendChild(svgEl("text", { x: 2, y: T + 10 }, fmtNs(maxD)));
  svg.appendChild(svgEl("text", { x: 2, y: T + DH }, "0"));
  if (withData.length) {
    const top = withData.map((r) => `${x(r.t)},${yd(r.s.delay_p99_ns)}`);
    const bottom = withData.slice().reverse().map((r) => `${x(r.t)},${yd(r.s.delay_p50_ns)}`);
    svg.appendChild(svgEl("polygon", { class: "band", points: top.concat(bottom).join(" ") }));
    svg.appendChild(svgEl("polyline", { class: "p99", points: top.join(" ") }));
    svg.appendChild(svgEl("polyline", { class: "p50", points: withData.map((r) => `${x(r.t)},${yd(r.s.delay_p50_ns)}`).join(" ") }));
    // Markers, so that a lone point (one busy minute) is seen too.
    for (const r of withData) {
      svg.appendChild(svgEl("circle", { class: "p50", cx: x(r.t), cy: yd(r.s.delay_p50_ns), r: 2.5 }));
      svg.appendChild(svgEl("circle", { class: "p99", cx: x(r.t), cy: yd(r.s.delay_p99_ns), r: 2.5 }));
    }
  }
  const by = T + DH + 20, maxP = Math.max(1, ...rows.map((r) => (r.s ? r.s.packets + r.s.lost : 0)));
  const bw = Math.max(1, (W - L - R) / rows.length - 1);
  svg.appendChild(svgEl("text", { x: 2, y: by + 10 }, `${fmtCount(Math.round(maxP))} pkts`));
  for (const r of rows) {
    if (!r.s) continue;
    const hp = (BH * r.s.packets) / maxP, hl = (BH * r.s.lost) / maxP;
    svg.appendChild(svgEl("rect", { class: "pkts", x: x(r.t), y: by + BH - hp - hl, width: bw, height: hp }));
    if (hl > 0) svg.appendChild(svgEl("rect", { class: "lost", x: x(r.t), y: by + BH - hl, width: bw, height: Math.max(1, hl) }));
  }
  svg.appendChild(svgEl("text", { x: L, y: H - 2 }, fmtTime(t0)));
  svg.appendChild(svgEl("text", { x: W - R - 130, y: H - 2 }, fmtTime(t1)));
  return svg;
}

function table(id, columns, rows, rowAttrs = () => ({})) {
  const head = columns.map((c) => `<th class="${c.l ? "l" : ""}">${esc(c.h)}</th>`).join("");
  const body = rows.map((r) => {
    const a = rowAttrs(r);
    const attrs = Object.entries(a).map(([k, v]) => ` ${k}="${esc(v)}"`).join("");
    return `<tr${attrs}>${columns.map((c) => `<td class="${c.cls || ""}${c.l ? " l" : ""}">${c.f(r)}</td>`).join("")}</tr>`;
  }).join("");
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const trafficColumns = [
  { h: "packets", f: (s) => fmtCount(s.packets) },
  { h: "lost", cls: "loss", f: (s) => fmtCount(s.lost) },
  { h: "loss", cls: "loss", f: (s) => fmtPct(lossOf(s)) },
  { h: "p50", cls: "p50", f: (s) => fmtNs(s.delay_p50_ns) },
  { h: "p90", f: (s) => fmtNs(s.delay_p90_ns) },
  { h: "p99", cls: "p99", f: (s) => fmtNs(s.delay_p99_ns) },
  { h: "max", f: (s) => fmtNs(s.delay.max_ns) },
  { h: "first seen", f: (s) => fmtTime(s.first_seen_ns) },
  { h: "last seen", f: (s) => fmtAgo(s.last_seen_ns) },
];
const segKey = (s) => `${s.from}>${s.to}`;
// Lossiest first, then slowest: the row an operator looks for.
const byTrouble = (a, b) => lossOf(b) - lossOf(a) ||
  (b.delay_p99_ns || 0) - (a.delay_p99_ns || 0);

// ---- views --------------------------------------------------------------------------------
const views = {
  async paths(main) {
    const [p, s] = await Promise.all([api("/api/v1/paths", { ...windowParams(), limit: 50 }),
      api("/api/v1/segments", { ...windowParams(), limit: 500 })]);
    if (!p.changed && !s.changed && main.dataset.drawn) return;
    const segs = s.data.segments, bySeg = new Map(segs.map((x) => [segKey(x), x]));
    main.innerHTML = "";
    const worst = segs.slice().sort(byTrouble)[0];
    const call = document.createElement("div");
    if (!segs.length) {
      call.className = "card callout";
      call.textContent = "No correlated packets in this window (choose a longer window?).";
    } else if (worst.lost > 0) {
      call.className = "card callout";
      call.innerHTML = `Segment <b>${worst.from} → ${worst.to}</b> loses the most: <b>${fmtPct(lossOf(worst))}</b> ` +
        `(${fmtCount(worst.lost)} packets, p99 ${fmtNs(worst.delay_p99_ns)}) in this window. ` +
        `<a href="#latency/segment/${worst.from}-${worst.to}">Since when?</a>`;
    } else {
      const slow = segs.slice().sort((a, b) => (b.delay_p99_ns || 0) - (a.delay_p99_ns || 0))[0];
      call.className = "card callout ok";
      call.innerHTML = `No loss. Slowest segment: <b>${slow.from} → ${slow.to}</b>, p99 <b>${fmtNs(slow.delay_p99_ns)}</b>. ` +
        `<a href="#latency/segment/${slow.from}-${slow.to}">Over time</a>`;
    }
    main.appendChild(call);
    const h = document.createElement("h2");
    h.textContent = `Paths (${p.data.paths.length})`;
    main.appendChild(h);
    for (const path of p.data.paths) {
      const card = document.createElement("div");
      card.className = "card path";
      card.innerHTML = `<div class="title">namespace ${path.namespace} · ${esc(pathText(path.nodes))}</div>` +
        `<div class="muted">${fmtCount(path.packets)} packets, ${fmtCount(path.lost)} lost (${fmtPct(lossOf(path))}), ` +
        `end to end p50 ${fmtNs(path.delay_p50_ns)} p99 ${fmtNs(path.delay_p99_ns)}, ${fmtTime(path.first_seen_ns)} – ${fmtAgo(path.last_seen_ns)} ` +
        `<a href="#latency/path/${path.namespace}:${path.nodes.join(",")}">over time</a></div>`;
      card.appendChild(pathGraph(path.nodes, bySeg));
      main.appendChild(card);
    }
    const h2 = document.createElement("h2");
    h2.textContent = "Segments (lossiest, then slowest first; click for latency over time)";
    main.appendChild(h2);
    const wrap = document.createElement("div");
    wrap.innerHTML = table("segments", [{ h: "segment", l: true, cls: "key", f: (x) => `${x.from} → ${x.to}` }, ...trafficColumns],
      segs.slice().sort(byTrouble),
      (x) => ({ class: `segment clickable${x.lost > 0 ? " lossy" : ""}`, "data-key": `${x.from}-${x.to}` }));
    wrap.querySelectorAll("tr.segment").forEach((tr) => tr.addEventListener("click", () => { location.hash = `latency/segment/${tr.dataset.key}`; }));
    main.appendChild(wrap);
    main.dataset.drawn = "1";
  },

  async latency(main) {
    // #latency/segment/FROM-TO or #latency/path/NS:N1,N2,...; the choice lists what the window holds.
    const [p, s] = await Promise.all([api("/api/v1/paths", { ...windowParams(), limit: 50 }),
      api("/api/v1/segments", { ...windowParams(), limit: 500 })]);
    const choices = [...s.data.segments.map((x) => ({ key: `segment/${x.from}-${x.to}`, label: `segment ${x.from} → ${x.to}`, s: x })),
      ...p.data.paths.map((x) => ({ key: `path/${x.namespace}:${x.nodes.join(",")}`, label: `path ${x.namespace}: ${pathText(x.nodes)}`, s: x }))];
    let chosen = choices.find((c) => c.key === state.arg) || choices[0];
    if (!chosen) {
      main.innerHTML = `<div class="card callout">No correlated packets in this window.</div>`;
      return;
    }
    const kind = chosen.key.startsWith("segment/") ? "segments" : "paths";
    // "All stored" spans from the first to the last packet seen, not from 1970.
    const all = choices.map((c) => c.s);
    const wp = windowParams();
    const from = wp.from || `${Math.floor(Math.min(...all.map((x) => x.first_seen_ns)) / 1e9)}000000000`;
    const to = wp.from ? undefined : `${Math.ceil(Math.max(...all.map((x) => x.last_seen_ns)) / 1e9) + 60}000000000`;
    const series = await api(`/api/v1/${kind}/series`, { from, to, points: 120, limit: 500 });
    if (!series.changed && !p.changed && !s.changed && main.dataset.drawn === chosen.key) return;
    const match = kind === "segments"
      ? (x) => `segment/${x.from}-${x.to}` === chosen.key
      : (x) => `path/${x.namespace}:${x.nodes.join(",")}` === chosen.key;
    main.innerHTML = `<div class="card"><label>Show <select id="series-key">${choices.map((c) =>
      `<option value="${esc(c.key)}"${c === chosen ? " selected" : ""}>${esc(c.label)}</option>`).join("")}</select></label>
      <span class="muted">one point per ${fmtNs(series.data.step_ns)}; band p50–p99 (red line p99), bars packets with loss in red</span></div>`;
    main.querySelector("#series-key").addEventListener("change", (e) => { location.hash = `latency/${e.target.value}`; });
    const card = document.createElement("div");
    card.className = "card";
    card.appendChild(seriesChart(series.data.points, (pt) => pt[kind].find(match)));
    main.appendChild(card);
    const rows = series.data.points.map((pt) => ({ t: pt.t_ns, s: pt[kind].find(match) })).filter((r) => r.s);
    const firstLoss = rows.find((r) => r.s.lost > 0);
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = firstLoss ? `Loss first seen in the interval starting ${fmtTime(firstLoss.t)}.` : "No loss in this window.";
    main.appendChild(note);
    const wrap = document.createElement("div");
    wrap.innerHTML = table("series-table", [{ h: "from", l: true, f: (r) => fmtTime(r.t) },
      ...trafficColumns.slice(0, 6).map((c) => ({ ...c, f: (r) => c.f(r.s) }))], rows.slice().reverse(), () => ({ class: "point" }));
    main.appendChild(wrap);
    main.dataset.drawn = chosen.key;
  },

  async nodes(main) {
    const r = await api("/api/v1/nodes", { ...windowParams(), limit: 500 });
    if (!r.changed && main.dataset.drawn) return;
    const nodes = r.data.nodes;
    const maxT = Math.max(1, ...nodes.map((n) => n.transit_delay.max_ns || 0));
    const mean = (d) => (d.count ? d.mean_ns : null);
    main.innerHTML = `<h2>Nodes (${nodes.length})</h2>` + table("nodes", [
      { h: "node", l: true, cls: "key", f: (n) => n.node_id },
      { h: "packets", f: (n) => fmtCount(n.records) },
      { h: "transit mean", f: (n) => fmtNs(mean(n.transit_delay)) },
      { h: "transit max", f: (n) => fmtNs(n.transit_delay.count ? n.transit_delay.max_ns : null) },
      { h: "", l: true, f: (n) => `<span class="bar" style="width:${Math.round((100 * (mean(n.transit_delay) || 0)) / maxT)}px"></span>` },
      { h: "segment in mean", f: (n) => fmtNs(mean(n.segment_delay)) },
      { h: "queue depth mean", f: (n) => (n.queue_depth.count ? fmtCount(n.queue_depth.mean_ns) : "—") },
      { h: "queue depth max", f: (n) => (n.queue_depth.count ? fmtCount(n.queue_depth.max_ns) : "—") },
      { h: "first seen", f: (n) => fmtTime(n.first_seen_ns) },
      { h: "last seen", f: (n) => fmtAgo(n.last_seen_ns) },
    ], nodes, () => ({ class: "node" }));
    main.dataset.drawn = "1";
  },

  async exporters(main) {
    const r = await api("/api/v1/exporters", { limit: 1000 });
    if (!r.changed && main.dataset.drawn) return;
    const ex = r.data.exporters;
    main.innerHTML = `<h2>Exporters (${ex.length} of ${r.data.total} sessions)</h2>` + table("exporters", [
      { h: "exporter", l: true, cls: "key", f: (e) => esc(`${e.address}:${e.port}`) },
      { h: "transport", l: true, f: (e) => esc(e.transport) },
      { h: "domain", f: (e) => e.domain },
      { h: "state", l: true, cls: "state", f: (e) => `<span class="badge ${esc(e.state)}">${esc(e.state)}</span>` },
      { h: "messages", f: (e) => fmtCount(e.messages) },
      { h: "records", f: (e) => fmtCount(e.records) },
      { h: "lost (sequence)", cls: "loss", f: (e) => fmtCount(e.lost) },
      { h: "reordered", f: (e) => fmtCount(e.reordered) },
      { h: "restarts", f: (e) => fmtCount(e.restarts) },
      { h: "errors", f: (e) => fmtCount(e.errors) },
      { h: "first seen", f: (e) => fmtTime(e.first_seen_ns) },
      { h: "last seen", f: (e) => fmtAgo(e.last_seen_ns) },
    ], ex, (e) => ({ class: `exporter${e.lost > 0 ? " lossy" : ""}` }));
    main.dataset.drawn = "1";
  },

  async records(main) {
    if (!main.querySelector("form")) {
      main.innerHTML = `<form class="filters" id="record-filters">
        <label>namespace<input name="namespace" inputmode="numeric"></label>
        <label>node<input name="node" inputmode="numeric"></label>
        <label>flow<input name="flow" inputmode="numeric"></label>
        <label>kind<select name="kind"><option value="">any</option><option value="0">trace</option><option value="1">DEX</option></select></label>
        <label>limit<input name="limit" value="50" inputmode="numeric"></label>
        <button type="submit">Apply</button><button type="button" id="next-page" disabled>Next page</button>
        <span class="muted">oldest first within the window; the cursor pages on</span></form><div id="record-rows"></div>`;
      const form = main.querySelector("form");
      form.addEventListener("submit", (e) => { e.preventDefault(); state.cursor = null; refresh(); });
      main.querySelector("#next-page").addEventListener("click", () => { state.cursor = state.nextCursor; refresh(); });
    }
    const f = new FormData(main.querySelector("form"));
    const params = { ...windowParams(), cursor: state.cursor };
    for (const k of ["namespace", "node", "flow", "kind", "limit"]) params[k] = f.get(k);
    const r = await api("/api/v1/records", params);
    state.nextCursor = r.data.next_cursor;
    main.querySelector("#next-page").disabled = r.data.next_cursor === null;
    if (!r.changed && main.dataset.drawn) return;
    main.querySelector("#record-rows").innerHTML = table("records", [
      { h: "id", f: (x) => x.id },
      { h: "time", f: (x) => fmtTime(x.observation_time_ns, true) },
      { h: "kind", l: true, f: (x) => x.kind },
      { h: "exporter", l: true, f: (x) => esc(x.exporter) },
      { h: "ns", f: (x) => x.namespace },
      { h: "path / node", l: true, f: (x) => esc(x.kind === "trace" ? x.path.split(",").join(" → ") : (x.node.node_id_wide ?? x.node.node_id ?? "?")) },
      { h: "end to end", f: (x) => fmtNs(x.end_to_end_ns) },
      { h: "flow", f: (x) => x.flow_id ?? "" },
      { h: "seq", f: (x) => x.sequence_number ?? "" },
    ], r.data.records, () => ({ class: "record" }));
    main.dataset.drawn = "1";
  },

  async dex(main) {
    // Flows are found among the window's first DEX reports; a flow id can also be typed in.
    const r = await api("/api/v1/records", { ...windowParams(), kind: 1, limit: 1000 });
    const flows = new Map();
    for (const x of r.data.records) if (x.flow_id !== undefined) flows.set(x.flow_id, (flows.get(x.flow_id) || 0) + 1);
    const flow = state.arg || (flows.size ? String([...flows.keys()][0]) : "");
    let detail = null;
    if (flow) detail = await api(`/api/v1/dex/flows/${encodeURIComponent(flow)}`, { limit: 10000 });
    if (!r.changed && (!detail || !detail.changed) && main.dataset.drawn === flow) return;
    main.innerHTML = `<div class="card"><label>Flow <select id="flow">${[...flows.keys()].map((f) =>
      `<option${String(f) === flow ? " selected" : ""}>${f}</option>`).join("")}</select></label>
      <span class="muted">${flows.size} flows among the first ${r.data.records.length} DEX reports of the window</span></div>`;
    main.querySelector("#flow").addEventListener("change", (e) => { location.hash = `dex/${e.target.value}`; });
    if (detail) {
      const d = detail.data;
      const lost = d.loss.reduce((a, l) => a + l.packets, 0);
      const card = document.createElement("div");
      card.className = `card flow${lost ? " callout" : " callout ok"}`;
      card.innerHTML = `<div class="title">flow ${d.flow_id}: ${fmtCount(d.reports)} reports, nodes ${esc(pathText(d.nodes))}, ` +
        `${fmtCount(d.incomplete_packets)} incomplete packets</div>` +
        (d.loss.length ? `<div>Loss localised: ${d.loss.map((l) => `<b>${fmtCount(l.packets)}</b> packets last seen at node <b>${l.last_seen_node}</b>`).join("; ")}</div>`
          : "<div>Every packet was reported by every node.</div>");
      const bySeg = new Map();
      for (let i = 1; i < d.nodes.length; ++i) {
        const ds = d.packets.map((pk) => pk.segment_delay_ns[i - 1]).filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
        const lostHere = d.loss.filter((l) => l.last_seen_node === d.nodes[i - 1]).reduce((a, l) => a + l.packets, 0);
        bySeg.set(`${d.nodes[i - 1]}>${d.nodes[i]}`, { packets: ds.length, lost: lostHere,
          delay_p50_ns: ds.length ? ds[Math.floor(ds.length * 0.5)] : null, delay_p99_ns: ds.length ? ds[Math.min(ds.length - 1, Math.floor(ds.length * 0.99))] : null });
      }
      card.appendChild(pathGraph(d.nodes, bySeg));
      main.appendChild(card);
    }
    main.dataset.drawn = flow;
  },
};

// ---- routing and polling ------------------------------------------------------------------
function parseHash() {
  const h = decodeURIComponent(location.hash.replace(/^#/, ""));
  const slash = h.indexOf("/");
  const view = slash < 0 ? h : h.slice(0, slash);
  return { view: views[view] ? view : "paths", arg: slash < 0 ? "" : h.slice(slash + 1) };
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const main = document.getElementById("view");
  const view = state.view;
  let stale = false;
  try {
    await views[view](main);
    stale = view !== state.view;
    document.getElementById("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (!stale) document.body.dataset.ready = view;
  } catch (e) {
    reportError(e.message);
    document.getElementById("status").textContent = "update failed";
  } finally {
    state.busy = false;
  }
  // The view changed while this one was drawing: draw the new one now, not at the next poll.
  if (stale) {
    main.innerHTML = "";
    delete main.dataset.drawn;
    refresh();
  }
}

function route() {
  const { view, arg } = parseHash();
  if (view !== state.view || arg !== state.arg) {
    state.view = view;
    state.arg = arg;
    state.cursor = null;
    delete document.body.dataset.ready;
    const main = document.getElementById("view");
    main.innerHTML = "";
    delete main.dataset.drawn;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  }
  refresh();
}

function start() {
  // ?window=SECONDS (0: all stored) and ?live=0 in the address, for links and tests.
  const q = new URLSearchParams(location.search);
  const sel = document.getElementById("window");
  if (q.has("window") && [...sel.options].some((o) => o.value === q.get("window"))) sel.value = q.get("window");
  const live = document.getElementById("live");
  if (q.get("live") === "0") live.checked = false;
  sel.addEventListener("change", () => { delete document.getElementById("view").dataset.drawn; refresh(); });
  window.addEventListener("hashchange", route);
  setInterval(() => { if (live.checked && !document.hidden) refresh(); }, POLL_MS);
  route();
}

start();
