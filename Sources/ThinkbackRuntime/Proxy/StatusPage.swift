/// `GET /` for a browser (issue 20): one self-contained page — no external asset, no
/// framework — that fetches the status JSON every two seconds and draws it, with a chart of
/// requests, restored and missed messages per second over the last minutes (the status JSON's
/// `history`, a ring kept on the loop). Everyone else gets the JSON at the same address.
enum StatusPage {
    static let headers: [(String, String)] = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        // Only this page's own inline code, and fetches of this origin.
        ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"),
    ]

    static let html: [UInt8] = Array(#"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>thinkback</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2430; }
  header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .muted { color: #aab3c2; }
  main { padding: 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #5b6576; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  td { padding: 3px 0; }
  table.list { margin-top: 12px; } table.list th { text-align: left; font-size: 12px; color: #5b6576; font-weight: 600; padding: 3px 8px 3px 0; }
  table.list td { padding: 3px 8px 3px 0; overflow-wrap: anywhere; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; overflow-wrap: anywhere; }
  .big { font-size: 28px; font-weight: 700; }
  .ok { color: #1a7f37; } .bad { color: #c62828; }
  svg { width: 100%; height: 220px; }
  .legend span { margin-right: 16px; } .legend i { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body data-loaded="0">
<header><h1>thinkback</h1><span class="muted">version <span id="version">–</span></span>
  <span class="muted">state <span id="state">–</span></span><span class="muted">up <span id="uptime">–</span></span>
  <span class="muted">workers <span id="workers">–</span></span>
  <span class="muted">updated <span id="updated">–</span></span></header>
<main>
  <section class="wide"><h2>Upstream</h2><table>
    <tr><td>default</td><td class="n" id="upstream">–</td></tr>
    <tr><td>OpenAI base</td><td class="n" id="base-url">–</td></tr>
    <tr><td>Anthropic base</td><td class="n" id="anthropic-base-url">–</td></tr></table>
    <table class="list"><thead><tr><th>upstream</th><th>OpenAI base</th><th>restore</th><th>requests</th><th>restored</th><th>misses</th><th>fixes</th></tr></thead>
    <tbody id="upstreams"></tbody></table></section>
  <section><h2>Traffic</h2><table>
    <tr><td>requests served</td><td class="n" id="served">–</td></tr>
    <tr><td>in flight</td><td class="n" id="in-flight">–</td></tr>
    <tr><td>streams open</td><td class="n" id="streams">–</td></tr>
    <tr><td>answers captured</td><td class="n" id="captured">–</td></tr></table></section>
  <section><h2>Store</h2><table>
    <tr><td>kind</td><td class="n" id="store">–</td></tr>
    <tr><td>state</td><td class="n" id="store-state">–</td></tr>
    <tr><td>entries</td><td class="n" id="entries">–</td></tr>
    <tr><td>bytes</td><td class="n" id="bytes">–</td></tr>
    <tr><td>evictions</td><td class="n" id="evictions">–</td></tr></table></section>
  <section><h2>Restoration</h2><div class="big" id="hit-rate">–</div><table>
    <tr><td>restored by place</td><td class="n" id="hits-context">–</td></tr>
    <tr><td>by tool-call id</td><td class="n" id="hits-id">–</td></tr>
    <tr><td>by content</td><td class="n" id="hits-content">–</td></tr>
    <tr><td>misses</td><td class="n" id="misses">–</td></tr>
    <tr><td>auto retries</td><td class="n" id="auto-retries">–</td></tr></table></section>
  <section><h2>Misses, by strategy</h2><table id="fallbacks"></table></section>
  <section class="wide"><h2>Per second, last minutes</h2>
    <div class="legend"><span><i style="background:#2f6fde"></i>requests</span><span><i style="background:#1a7f37"></i>restored</span><span><i style="background:#c62828"></i>misses</span></div>
    <svg id="chart" viewBox="0 0 600 200" preserveAspectRatio="none">
      <polyline id="line-restored" fill="none" stroke="#1a7f37" stroke-width="3" points=""/>
      <polyline id="line-misses" fill="none" stroke="#c62828" stroke-width="3" points=""/>
      <polyline id="line-requests" fill="none" stroke="#2f6fde" stroke-width="2" stroke-dasharray="6 4" points=""/>
    </svg><div class="muted" id="chart-max"></div></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const set = (id, v) => { $(id).textContent = v; };
const num = (n) => Number(n).toLocaleString("en-US");
function bytes(n) { const u = ["B", "KiB", "MiB", "GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; }
function duration(s) { const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60); return (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m " + (s % 60) + "s"; }
function line(id, values, max) {
  const n = values.length;
  $(id).setAttribute("points", values.map((v, i) => ((n < 2 ? 600 : i * 600 / (n - 1)).toFixed(1) + "," + (200 - v / max * 190).toFixed(1))).join(" "));
}
function render(s) {
  set("version", s.version); set("state", s.state); set("uptime", duration(s.uptime_seconds)); set("workers", num(s.workers));
  set("updated", new Date().toLocaleTimeString());
  set("upstream", s.upstream.name); set("base-url", s.upstream.base_url); set("anthropic-base-url", s.upstream.anthropic_base_url || "–");
  const upstreamRows = (s.upstreams || []).map((u) => {
    const tr = document.createElement("tr");
    tr.dataset.upstream = u.name;
    const c = u.counts || {};
    for (const v of [u.name + (u.default ? " (default)" : ""), u.base_url, u.restore, num(c.requests || 0), num(c.restored || 0),
                     num(c.misses || 0), num(c.fixes || 0)]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    return tr;
  });
  $("upstreams").replaceChildren(...upstreamRows);
  set("served", num(s.served)); set("in-flight", num(s.in_flight.requests)); set("streams", num(s.in_flight.streams));
  const c = s.cache, r = s.restore;
  set("store", c.store); set("store-state", c.store_state); $("store-state").className = "n " + (c.store_state === "ok" ? "ok" : "bad");
  set("entries", num(c.entries)); set("bytes", bytes(c.bytes)); set("evictions", num(c.evictions));
  set("captured", num(r.captured));
  set("hits-context", num(r.hits_context)); set("hits-id", num(r.hits_tool_call_id)); set("hits-content", num(r.hits_content));
  set("misses", num(r.misses)); set("auto-retries", num(r.auto_retries));
  const looked = r.restored + r.misses;
  set("hit-rate", looked ? (100 * r.restored / looked).toFixed(1) + "% restored" : "no lookups yet");
  const rows = Object.entries(r.fallbacks).map(([k, v]) => "<tr><td>" + k + "</td><td class=\"n\">" + num(v) + "</td></tr>");
  $("fallbacks").innerHTML = rows.join("");
  const h = s.history, max = Math.max(1, ...h.requests, ...h.restored, ...h.misses);
  line("line-requests", h.requests, max); line("line-restored", h.restored, max); line("line-misses", h.misses, max);
  set("chart-max", "peak " + num(max) + "/s over " + h.requests.length + " s");
  document.body.dataset.loaded = "1";
}
async function refresh() {
  try {
    const res = await fetch("/", { headers: { Accept: "application/json" }, cache: "no-store" });
    render(await res.json());
  } catch (e) { set("state", "unreachable"); }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#.utf8)
}
