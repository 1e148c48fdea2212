// The operations dashboard. Data comes from /api (bearer token); live changes arrive over
// server-sent events (/api/live), and each push schedules one refresh - there is no polling.
// EventSource cannot send the bearer header, so the stream opens with a single-use ticket
// (POST /api/live/tickets); the token itself never goes into a URL.
"use strict";

const state = { token: "", source: null, refreshTimer: null, liveTimer: null };
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function say(text) { $("#message").textContent = text || ""; }

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + state.token } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(response.status + " " + detail);
  }
  return response.json();
}

const KPI_LABELS = [
  ["requests_open", "Open requests"], ["people_in_open_requests", "People in open requests"],
  ["requests_in_delivery", "In delivery"], ["requests_fulfilled", "Fulfilled"],
  ["people_reached", "People reached"], ["requests_escalated", "Escalated"],
  ["alerts_breached", "SLA breaches open", true], ["alerts_warning", "SLA warnings open"],
  ["incidents_last_7_days", "Incidents (7 days)"], ["eligible_ngos", "Eligible NGOs"],
  ["conflicts_open", "Open conflicts", true], ["tasks_overdue", "Overdue tasks", true],
  ["operations_live", "Live operations"],
];

function renderKpis(k) {
  const box = $("#kpis");
  box.replaceChildren(...KPI_LABELS.map(([key, label, alarm]) =>
    el("div", { class: "card" + (alarm && k[key] > 0 ? " alarm" : ""), "data-kpi": key },
      el("div", { class: "value" }, Number(k[key] || 0).toLocaleString("en")),
      el("div", { class: "label" }, label))));
}

function duration(seconds) {
  if (seconds == null) return "-";
  if (seconds < 120) return Math.round(seconds) + " s";
  if (seconds < 7200) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

function renderFunnel(f) {
  const order = ["submitted", "triaged", "offered", "accepted", "in_progress", "fulfilled", "closed", "escalated"];
  const max = Math.max(1, ...order.map((s) => f.statuses[s] || 0));
  const rows = order.map((s) => el("div", { class: "funnel-row" }, s,
    el("span", {}, el("span", { class: "bar", style: `width:${(100 * (f.statuses[s] || 0)) / max}%` })),
    String(f.statuses[s] || 0)));
  const t = (f.timings.all || {});
  const table = el("table", {}, el("tr", {}, el("th", {}, "to"), el("th", {}, "n"), el("th", {}, "p50"), el("th", {}, "p90")),
    ...["triage", "offer", "acceptance", "fulfilment"].map((stage) => {
      const x = t[stage] || {};
      return el("tr", {}, el("td", {}, stage), el("td", {}, x.count || 0),
        el("td", {}, duration(x.p50_seconds)), el("td", {}, duration(x.p90_seconds)));
    }));
  $("#funnel").replaceChildren(...rows, el("p", {}, "Time from submission:"), table);
}

function renderGaps(g, areas) {
  const names = Object.fromEntries(areas.filter((a) => a.level === 1).map((a) => [a.pcode, a.name]));
  const sectors = [...new Set(g.gaps.map((c) => c.sector))].sort();
  const states = [...new Set(g.gaps.map((c) => c.pcode))].sort();
  const cell = Object.fromEntries(g.gaps.map((c) => [c.sector + "|" + c.pcode, c]));
  const head = el("tr", {}, el("th", {}, "sector \\ state"), ...states.map((p) => el("th", { title: p }, names[p] || p)));
  const rows = sectors.map((s) => el("tr", {}, el("th", {}, s), ...states.map((p) => {
    const c = cell[s + "|" + p];
    if (!c) return el("td", {}, "");
    const cls = c.eligible_ngos === 0 ? "uncovered" : c.unmet_per_ngo > 500 ? "thin" : "covered";
    return el("td", { class: cls, title: `${c.open_requests} open requests, ${c.eligible_ngos} eligible NGOs: ${c.ngos.join(", ")}` },
      c.people_in_need.toLocaleString("en"));
  })));
  $("#gaps").replaceChildren(head, ...(rows.length ? rows : [el("tr", {}, el("td", {}, "No open need."))]));
}

function hull(points) {
  // Monotone chain convex hull: an approximate state outline from its counties' centroids.
  const p = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const q of p) { while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop(); lower.push(q); }
  for (const q of p.reverse()) { while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop(); upper.push(q); }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

function renderMap(m) {
  const map = $("#map");
  const b = m.bounds, W = 600, H = 480, pad = 20;
  const sx = (W - 2 * pad) / (b.max_lon - b.min_lon), sy = (H - 2 * pad) / (b.max_lat - b.min_lat);
  const s = Math.min(sx, sy);
  const xy = (lat, lon) => [pad + (lon - b.min_lon) * s, H - pad - (lat - b.min_lat) * s];
  const nodes = [];
  const counties = m.areas.filter((a) => a.level === 2);
  for (const st of m.areas.filter((a) => a.level === 1)) {
    const pts = counties.filter((c) => c.parent === st.pcode).map((c) => xy(c.lat, c.lon));
    const [cx, cy] = xy(st.lat, st.lon);
    const grown = hull(pts.length ? pts : [[cx, cy]]).map(([x, y]) => [cx + (x - cx) * 1.25 + Math.sign(x - cx) * 8, cy + (y - cy) * 1.25 + Math.sign(y - cy) * 8]);
    if (grown.length >= 3) nodes.push(svg("polygon", { class: "state", points: grown.map((q) => q.join(",")).join(" ") }));
    else nodes.push(svg("circle", { class: "state", cx, cy, r: 18 }));
    const label = svg("text", { x: cx, y: cy - 10, "text-anchor": "middle" });
    label.textContent = st.name;
    nodes.push(label);
  }
  for (const c of counties) {
    const [x, y] = xy(c.lat, c.lon);
    nodes.push(svg("circle", { class: "county", cx: x, cy: y, r: 2.5 }));
    if (c.ngos > 0) nodes.push(svg("circle", { class: "ngo", cx: x, cy: y, r: 5 + Math.min(c.ngos, 6), "data-pcode": c.pcode }));
    if (c.open_requests > 0) {
      const r = svg("circle", { class: "req", cx: x, cy: y, r: 3 + Math.min(Math.sqrt(c.open_requests) * 2, 14), "data-pcode": c.pcode });
      const title = svg("title"); title.textContent = `${c.name}: ${c.open_requests} open requests, ${c.people} people, ${c.ngos} NGOs`;
      r.append(title); nodes.push(r);
    }
  }
  for (const i of m.incidents) {
    if (i.lat == null) continue;
    const [x, y] = xy(i.lat, i.lon);
    nodes.push(svg("polygon", { class: "inc", points: `${x},${y - 5} ${x - 4},${y + 3} ${x + 4},${y + 3}` }));
  }
  map.replaceChildren(...nodes);
}

function renderHotspots(h) {
  $("#hotspots").replaceChildren(...(h.length ? h.slice(0, 10).map((x) => el("li", {},
    `${x.area_name}: ${x.current} `, el("span", { class: x.trend }, x.trend === "up" ? "▲" : x.trend === "down" ? "▼" : "="),
    x.high_risk ? " high risk" : "")) : [el("li", {}, "No incidents.")]));
}

function requestLink(id) {
  return el("button", { class: "link", type: "button", onclick: () => showRequest(id) }, id.slice(0, 8));
}

function renderAlerts(list) {
  $("#alerts").replaceChildren(...(list.length ? list.map((a) => el("li", { class: a.level },
    el("time", {}, (a.raised_at || "").slice(11, 16)), `${a.level} ${a.stage} (${a.urgency}) `,
    requestLink(a.request_id), ` -> ${(a.escalate_to || []).join(", ")}`)) : [el("li", {}, "No open alerts.")]));
}

function table(node, headers, rows) {
  node.replaceChildren(el("tr", {}, ...headers.map((h) => el("th", {}, h))),
    ...(rows.length ? rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c == null ? "-" : c))))
      : [el("tr", {}, el("td", { colspan: headers.length }, "None yet."))]));
}

function pct(x) { return x == null ? "-" : Math.round(x * 100) + " %"; }

function renderPartners(contributions, compliance) {
  table($("#contributions"), ["NGO", "offers", "accepted", "fulfilled", "on time", "reached"],
    contributions.slice(0, 15).map((c) => [c.acronym || c.name, c.offers, pct(c.acceptance_rate),
      c.fulfilled, pct(c.on_time_rate), c.people_reached.toLocaleString("en")]));
  // The API lists agreements with overdue reports first; overdue counts are highlighted.
  table($("#compliance"), ["agreement", "due so far", "received", "overdue", "next due", "ends in"],
    compliance.slice(0, 15).map((a) => [a.title, a.reports_due_so_far, a.reports_received,
      el("span", { class: a.reports_overdue ? "overdue" : "", "data-agreement": a.agreement_id,
        title: a.obligations.filter((o) => o.reports_overdue).map((o) => `${o.what}: ${o.reports_overdue} overdue since ${o.overdue_since}`).join("; ") },
        a.reports_overdue),
      a.next_due_on || "-", a.days_left + " d"]));
}

function hhmm(iso) { return (iso || "").slice(0, 16).replace("T", " "); }

function renderPlanning(c, o) {
  // Conflicts come soonest window first; the notice is what the NGO was told.
  table($("#conflicts"), ["window (UTC)", "NGO", "near", "with", "notice"],
    c.conflicts.slice(0, 20).map((x) => [`${hhmm(x.between_start)} - ${hhmm(x.between_end)}`,
      x.ngo_name || x.ngo_id.slice(0, 8), x.area_name,
      el("span", { "data-conflict": x.conflict_id, class: x.source },
        x.source === "mission_activity" ? (x.operation_title || "mission activity") : `incident ${x.distance_km ?? "?"} km`),
      x.notice]));
  table($("#overdue"), ["task", "operation", "owner", "priority", "overdue"],
    o.tasks.slice(0, 20).map((t) => [el("span", { "data-task": t.task_id }, t.title), t.operation_title,
      t.owner_name, t.priority, duration(t.hours_overdue * 3600)]));
  $("#milestones").replaceChildren(...(o.milestones.length ? o.milestones.slice(0, 10).map((m) =>
    el("li", { "data-milestone": m.milestone_id }, `${m.title} (${m.operation_title || "operation"}), due ${hhmm(m.due_at)}`))
    : [el("li", {}, "None missed.")]));
}

async function showRequest(id) {
  try {
    const d = await api("/api/requests/" + id);
    $("#detail-id").textContent = id;
    const r = d.request;
    const rows = d.history.map((h) => el("tr", {}, el("td", {}, h.occurred_at), el("td", {}, h.event_type.split(".").slice(-2, -1)[0]),
      el("td", {}, h.status || ""), el("td", {}, (h.summary && h.summary.actor) || "")));
    $("#detail").replaceChildren(
      el("p", {}, `${r.title} - ${r.sector}, ${r.urgency}, ${r.pcode}, status ${r.status}, ${r.people_affected} people`),
      el("table", {}, el("tr", {}, el("th", {}, "when"), el("th", {}, "event"), el("th", {}, "status"), el("th", {}, "by")), ...rows),
      el("p", {}, `${d.alerts.length} SLA alert(s)`));
    $("#detail-panel").hidden = false;
  } catch (e) { say("Could not load the request: " + e.message); }
}

async function refresh() {
  if (!state.token) { say("Enter an ops_centre or admin token to see the data."); return; }
  try {
    const [k, f, g, m, h, a, c, p, jc, jo] = await Promise.all([api("/api/kpis"), api("/api/funnel"),
      api("/api/gaps?level=1&limit=1000"), api("/api/map"), api("/api/hotspots"), api("/api/alerts"),
      api("/api/contributions"), api("/api/compliance"), api("/api/planning/conflicts?limit=50"),
      api("/api/planning/overdue?limit=50")]);
    renderKpis(k); renderFunnel(f); renderMap(m); renderGaps(g, m.areas); renderHotspots(h); renderAlerts(a);
    renderPartners(c, p); renderPlanning(jc, jo);
    say("");
  } catch (e) { say("Could not load data: " + e.message); }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 400);
}

function describe(u) {
  if (u.kind === "alert") return [`SLA ${u.level} ${u.stage} (${u.urgency})`, u.request_id];
  if (u.kind === "request") return [`request ${u.status}: ${u.sector} in ${u.pcode} (${u.urgency})`, u.request_id];
  if (u.kind === "incident") return [`incident (${u.severity}) in ${u.pcode}`, null];
  if (u.kind === "conflict") return [`conflict ${u.open ? "flagged" : "cleared"} near ${u.near_pcode} (${u.source.replace("_", " ")})`, null];
  if (u.kind === "task" && u.overdue && !["done", "cancelled"].includes(u.status)) return ["task overdue", null];
  return [`${u.kind} ${String(u.type || "").split(".").slice(-2, -1)[0] || ""}`, null];
}

async function liveTicket() {
  const response = await fetch("/api/live/tickets", { method: "POST", headers: { Authorization: "Bearer " + state.token } });
  if (!response.ok) throw new Error(response.status + " " + response.statusText);
  return (await response.json()).ticket;
}

function liveOff(text) { $("#live-status").textContent = text; $("#live-status").className = "status off"; }

async function connectLive() {
  clearTimeout(state.liveTimer);
  if (state.source) { state.source.close(); state.source = null; }
  if (!state.token) { liveOff("offline"); return; }
  const token = state.token;
  let ticket;
  try { ticket = await liveTicket(); } catch (e) {
    liveOff("reconnecting");
    state.liveTimer = setTimeout(connectLive, 5000);
    return;
  }
  if (token !== state.token || state.source) return; // logged out, or connected meanwhile
  const source = new EventSource("/api/live?ticket=" + encodeURIComponent(ticket));
  state.source = source;
  source.addEventListener("hello", () => { $("#live-status").textContent = "live"; $("#live-status").className = "status on"; });
  source.addEventListener("update", (msg) => {
    const u = JSON.parse(msg.data);
    const [text, requestId] = describe(u);
    const item = el("li", { class: u.level || "", "data-kind": u.kind }, el("time", {}, new Date().toISOString().slice(11, 19)), text + " ");
    if (requestId) item.append(requestLink(requestId));
    $("#feed").prepend(item);
    while ($("#feed").children.length > 100) $("#feed").lastChild.remove();
    scheduleRefresh();
  });
  source.onerror = () => {
    // A ticket opens one stream: EventSource's own retry would reuse it and be refused, so
    // close and come back with a new ticket.
    liveOff("reconnecting");
    source.close();
    if (state.source === source) { state.source = null; state.liveTimer = setTimeout(connectLive, 3000); }
  };
}

function useToken(token) {
  state.token = token || "";
  if (state.token) localStorage.setItem("concord.token", state.token); else localStorage.removeItem("concord.token");
  $("#token").value = state.token;
  refresh();
  connectLive();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", (e) => { e.preventDefault(); useToken($("#token").value.trim()); });
  $("#logout").addEventListener("click", () => useToken(""));
  $("#detail-close").addEventListener("click", () => { $("#detail-panel").hidden = true; });
  useToken(localStorage.getItem("concord.token") || "");
});
