/** What the page needs to know at build time. */
export interface StatusPageOptions {
  readonly title: string;
  /** Validated by the handler: `/` and URL-safe characters only. */
  readonly basePath: string;
}

/**
 * The status page: one self-contained HTML document (inline styles and script, no framework,
 * nothing fetched but its own server-sent events). Rows are keyed and updated in place, so 100
 * consumers cost 100 rows whatever the update rate. All text goes through textContent.
 */
export function statusPage(options: StatusPageOptions): string {
  const title = escapeHtml(options.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>
:root{--fg:#1d2430;--mute:#667085;--line:#e4e7ec;--bg:#fff;--ok:#12805c;--warn:#b54708;--bad:#c01048;--chart:#2e6bd1}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--mute:#98a2b3;--line:#2c3340;--bg:#12161d;--chart:#6ea3ff}}
body{margin:0;padding:16px 24px;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:20px;margin:0 8px 0 0;display:inline-block}h2{font-size:15px;margin:20px 0 6px}
header{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}
.mute{color:var(--mute)}#conn::before{content:"\\25CF ";color:var(--mute)}#conn.live::before{color:var(--ok)}#conn.down::before{color:var(--bad)}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{font-weight:600;font-size:12px;color:var(--mute);text-transform:uppercase}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.msg{white-space:normal;max-width:420px;overflow-wrap:anywhere;color:var(--bad)}
.st{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600}
.st-caught-up{background:#12805c22;color:var(--ok)}.st-moving{background:#2e6bd122;color:var(--chart)}
.st-stalled{background:#b5470822;color:var(--warn)}.st-erroring{background:#c0104822;color:var(--bad)}
svg{display:block}polyline{fill:none;stroke:var(--chart);stroke-width:1.5}
#problems{color:var(--bad)}#problems:empty{display:none}
</style></head><body>
<header><h1>${title}</h1><span id="conn">connecting…</span><span class="mute" id="at"></span><span id="summary"></span></header>
<ul id="problems"></ul>
<h2>Streams</h2>
<table id="streams"><thead><tr><th>Events table</th><th>Head</th><th>Head written</th><th>Written/s</th><th>Last <span class="win"></span></th></tr></thead><tbody></tbody></table>
<h2>Consumers</h2>
<table id="consumers"><thead><tr><th>Stream</th><th>Consumer</th><th>Cursor</th><th>Lag events</th><th>Lag</th><th>Consumed/s</th><th>Last <span class="win"></span></th><th>State</th><th>Last error</th><th>Held by</th></tr></thead><tbody></tbody></table>
<h2>gRPC</h2>
<p id="grpc" class="mute">not served here</p>
<table id="clients"><thead><tr><th>Client</th><th>Method</th><th>Since</th><th>Events sent</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const base = ${JSON.stringify(options.basePath)};
const $ = (id) => document.getElementById(id);
// Foreign ids and names are shown, never interpreted: control characters become visible escapes.
const clean = (s) => String(s).replace(/[\\u0000-\\u001f\\u007f-\\u009f]/g, (c) => "\\\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
const dash = (v) => (v === null || v === undefined || v === "" ? "-" : String(v));
const pad = (n) => String(n).padStart(2, "0");
function clock(iso) {
  if (!iso) return "-";
  const d = new Date(iso), today = new Date().toDateString() === d.toDateString();
  const t = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  return today ? t : d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + t;
}
function dur(s) {
  if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}
const rate = (r) => (r === null ? "-" : r >= 10 ? String(Math.round(r)) : r.toFixed(1));
const NS = "http://www.w3.org/2000/svg";
function chart() {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", "120"); svg.setAttribute("height", "22"); svg.setAttribute("viewBox", "0 0 120 22");
  svg.appendChild(document.createElementNS(NS, "polyline"));
  svg.appendChild(document.createElementNS(NS, "title"));
  return svg;
}
function draw(svg, values) {
  const max = Math.max(0, ...values), n = values.length;
  const pts = values.map((v, i) => (n < 2 ? 0 : (i * 120) / (n - 1)).toFixed(1) + "," + (21 - (max > 0 ? (v / max) * 19 : 0)).toFixed(1));
  svg.firstChild.setAttribute("points", pts.join(" "));
  svg.lastChild.textContent = "peak " + rate(max) + "/s";
}
// Rows keyed by identity and updated in place: no re-render of the whole table per update.
function sync(tbody, items, keyOf, make, fill) {
  const rows = tbody._rows || (tbody._rows = new Map());
  const keep = new Set();
  let prev = null;
  for (const item of items) {
    const k = keyOf(item);
    keep.add(k);
    let tr = rows.get(k);
    if (!tr) { tr = make(item); rows.set(k, tr); }
    fill(tr, item);
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const [k, tr] of rows) if (!keep.has(k)) { tr.remove(); rows.delete(k); }
}
function row(n, charted) {
  const tr = document.createElement("tr");
  for (let i = 0; i < n; i++) tr.appendChild(document.createElement("td"));
  if (charted >= 0) tr.cells[charted].appendChild(chart());
  return tr;
}
function set(td, text, cls) { if (td.textContent !== text) td.textContent = text; if (cls !== undefined) td.className = cls; }
let updates = 0;
function render(s) {
  window.__updates = ++updates;
  $("at").textContent = "updated " + clock(s.at);
  const win = Math.round((s.bucketMs * (s.streams[0] ? s.streams[0].throughput.length : 30)) / 60000);
  for (const el of document.querySelectorAll(".win")) el.textContent = win + " min";
  const counts = {};
  for (const c of s.consumers) counts[c.state] = (counts[c.state] || 0) + 1;
  $("summary").textContent = s.consumers.length + " consumers" + ["erroring", "stalled", "moving", "caught-up"].filter((k) => counts[k]).map((k) => ", " + counts[k] + " " + k).join("");
  const probs = $("problems");
  probs.replaceChildren(...s.problems.map((p) => { const li = document.createElement("li"); li.textContent = clean(p); return li; }));
  sync($("streams").tBodies[0], s.streams, (x) => x.name, () => row(5, 4), (tr, x) => {
    tr.dataset.stream = x.name;
    const c = tr.cells;
    set(c[0], clean(x.name)); set(c[1], dash(x.head), "n"); set(c[2], clock(x.headAt)); set(c[3], rate(x.ratePerSecond), "n");
    draw(c[4].firstChild, x.throughput);
  });
  sync($("consumers").tBodies[0], s.consumers, (x) => x.stream + "\\u0000" + x.cursorsTable + "\\u0000" + x.name, () => row(10, 6), (tr, x) => {
    tr.dataset.consumer = x.name; tr.dataset.state = x.state;
    const c = tr.cells;
    set(c[0], clean(x.stream)); set(c[1], clean(x.name)); set(c[2], dash(clean(x.cursor)), "n");
    set(c[3], dash(x.lagEvents), "n lag-events"); set(c[4], x.lagSeconds > 0 ? dur(x.lagSeconds) : "0 s", "n lag-seconds");
    set(c[5], rate(x.ratePerSecond), "n");
    draw(c[6].firstChild, x.throughput);
    let state = x.state;
    if (x.state === "stalled" && x.since) state += " since " + clock(x.since) + " (" + dur((Date.parse(s.at) - Date.parse(x.since)) / 1000) + ")";
    if (x.state === "erroring" && x.since) state += " since " + clock(x.since);
    const badge = c[7].firstChild || c[7].appendChild(document.createElement("span"));
    set(badge, state, "st st-" + x.state);
    set(c[8], x.lastError ? clean(x.lastError.message) + " (event " + clean(x.lastError.eventId) + ", " + clock(x.lastError.at) + ")" : "", "msg");
    set(c[9], x.holder === null || x.holder === undefined ? "" : x.holder === "" ? "(free)" : clean(x.holder), "holder");
  });
  const g = s.grpc;
  $("grpc").textContent = g ? g.address + ": " + g.openStreams + " open streams, " + g.sentEvents + " events sent" + (g.clients ? "" : " (clients not listed)") : "not served here";
  $("clients").hidden = !g || !g.clients || g.clients.length === 0;
  sync($("clients").tBodies[0], g && g.clients ? g.clients : [], (x) => x.peer + " " + x.method + " " + x.since, () => row(4, -1), (tr, x) => {
    const c = tr.cells;
    set(c[0], clean(x.peer)); set(c[1], clean(x.method)); set(c[2], clock(x.since)); set(c[3], String(x.sentEvents), "n");
  });
}
const conn = $("conn");
const source = new EventSource(base + "/events");
source.onopen = () => { conn.textContent = "live"; conn.className = "live"; };
source.onerror = () => { conn.textContent = "reconnecting…"; conn.className = "down"; };
source.onmessage = (e) => render(JSON.parse(e.data));
</script></body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
