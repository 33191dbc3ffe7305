-- wrk script for bench/ingest.py: sends each pre-signed body once, counts the answers.
--
--   wrk ... -s bench/wrk_pool.lua URL -- post BODIES_FILE THREADS   (POST one body per request)
--   wrk ... -s bench/wrk_pool.lua URL -- get                         (plain GET of URL)
--
-- BODIES_FILE holds one JSON body per line; thread k of THREADS takes lines k, k+THREADS, ...
-- so no two threads send the same body. A thread that runs out starts again from its first body
-- ("wrapped": those requests are duplicates for the hub, so the pool was too small).
-- done() prints one line "BENCH_JSON {...}" with the totals of every thread.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "get"
  ok, non2xx, sent, wrapped, pool = 0, 0, 0, 0, 0
  bodies = {}
  if mode == "post" then
    local nthreads = tonumber(args[3])
    local line_no = 0
    for line in io.lines(args[2]) do
      if line_no % nthreads == id then
        bodies[#bodies + 1] = line
      end
      line_no = line_no + 1
    end
    pool = #bodies
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
  index = 0
end

function request()
  sent = sent + 1
  if mode ~= "post" then
    return wrk.format("GET")
  end
  index = index + 1
  if index > #bodies then
    index = 1
    wrapped = wrapped + 1
  end
  return wrk.format(nil, nil, nil, bodies[index])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, non2xx = 0, sent = 0, wrapped = 0, pool = 0}
  for _, thread in ipairs(threads) do
    t.ok = t.ok + thread:get("ok")
    t.non2xx = t.non2xx + thread:get("non2xx")
    t.sent = t.sent + thread:get("sent")
    t.wrapped = t.wrapped + thread:get("wrapped")
    t.pool = t.pool + thread:get("pool")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "ok": %d, "non2xx": %d, "sent": %d, "wrapped": %d, ' ..
    '"pool": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, t.ok, t.non2xx, t.sent, t.wrapped, t.pool,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
