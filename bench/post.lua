-- wrk script: POST the body in $BENCH_BODY with a bearer key and the headers in
-- $BENCH_HEADERS ("Name: value|Name: value"); at the end print one line
--   BENCH {json}
-- with requests, duration, errors and latency percentiles in ms (for bench/run).
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
for h in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = string.match(h, "^%s*([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

-- A body holding "@N@" becomes a new conversation per request (the counter in its place):
-- every answer then has a history of its own, as an agent's do.
if string.find(wrk.body, "@N@", 1, true) then
  local n = 0
  -- Unique per wrk process: math.random is not seeded, so it gave every run (the warm-up and
  -- the measured run) the same prefix, and the measured run repeated the warm-up's
  -- conversations with other reasoning (every content key turned ambiguous).
  local u = io.open("/proc/sys/kernel/random/uuid", "r")
  local prefix = u and u:read("*l") or tostring(os.time())
  if u then u:close() end
  local body = wrk.body
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, (string.gsub(body, "@N@", prefix .. "-" .. n)))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({10, 25, 50, 75, 90, 95, 99, 99.9}) do
    p[#p + 1] = string.format('"p%s":%.3f', tostring(q), latency:percentile(q) / 1000)
  end
  p[#p + 1] = string.format('"max":%.3f', latency.max / 1000)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_s":%.3f,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"lat_ms":{%s}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(p, ",")))
end
