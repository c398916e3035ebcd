-- wrk script: POSTs the OTLP/HTTP protobuf bodies written by make-payloads.ts
-- (the same traffic as bench/e2e.ts's load generator), cycling through them;
-- every 5th request is a logs request, as in bench/e2e.ts. Counts 503/429
-- answers (pushback) apart from other failures and prints accepted items/s.
--   wrk -t2 -c8 -d20s -s bench/wrk/otlp.lua http://127.0.0.1:4318
-- Environment: PAYLOADS (default bench/wrk/payloads), LOGS_EVERY (default 5,
-- 0 = traces only), SLUICE_TOKEN (sent as a bearer token when set).

local dir = os.getenv("PAYLOADS") or "bench/wrk/payloads"
local logs_every = tonumber(os.getenv("LOGS_EVERY") or "5")
local token = os.getenv("SLUICE_TOKEN")

local function read(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path .. ": run node --import tsx bench/wrk/make-payloads.ts first")
  local data = f:read("*a")
  f:close()
  return data
end

local function load()
  local counts = {}
  for line in io.lines(dir .. "/manifest.txt") do
    local kind, n, per = line:match("^(%a+) (%d+) (%d+)$")
    if kind then counts[kind] = { n = tonumber(n), per = tonumber(per) } end
  end
  return counts
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local counts = load()
  local headers = { ["Content-Type"] = "application/x-protobuf" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  traces, logs = {}, {}
  for i = 0, counts.traces.n - 1 do
    traces[#traces + 1] = wrk.format("POST", "/v1/traces", headers, read(string.format("%s/traces-%03d.pb", dir, i)))
  end
  for i = 0, counts.logs.n - 1 do
    logs[#logs + 1] = wrk.format("POST", "/v1/logs", headers, read(string.format("%s/logs-%03d.pb", dir, i)))
  end
  per_request = counts.traces.per
  -- Threads start at different bodies, as the loadgen's connections do.
  n = id * 7
  ok, busy, failed, retry_after = 0, 0, 0, 0
end

function request()
  n = n + 1
  local is_logs = logs_every > 0 and n % logs_every == 0
  if is_logs then return logs[math.floor(n / logs_every) % #logs + 1] end
  return traces[n % #traces + 1]
end

function response(status, headers, body)
  -- wrk does not say which request an answer belongs to when a thread has
    -- several connections, so answers are counted together. The traces and
  -- logs queues push back separately, so the accepted mix is not the sent
  -- one: spans/s is exact only with LOGS_EVERY=0 (count rows for the rest).
  if status == 200 then
    ok = ok + 1
  elseif status == 503 or status == 429 then
    busy = busy + 1
    if headers["Retry-After"] or headers["retry-after"] then retry_after = retry_after + 1 end
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local o, b, f, r, per = 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    o = o + thread:get("ok")
    b = b + thread:get("busy")
    f = f + thread:get("failed")
    r = r + thread:get("retry_after")
    per = thread:get("per_request")
  end
  local secs = summary.duration / 1e6
  local items_s = o * per / secs
  io.write(string.format("accepted: %d requests of %d items; pushed back (503/429): %d (%d with Retry-After); other failures: %d\n", o, per, b, r, f))
  io.write(string.format("accepted items/s (spans and log records, 1 request in %d sent as logs): %.0f\n", logs_every, items_s))
  local spans = logs_every == 0 and string.format("%.0f", items_s) or "null"
  io.write(string.format('{"bench":"wrk-otlp","items_s":%.0f,"spans_s":%s,"requests_ok":%d,"pushed_back":%d,"failed":%d,"p50_ms":%.2f,"p99_ms":%.2f}\n',
    items_s, spans, o, b, f, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
