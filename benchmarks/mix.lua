-- wrk script of the jobmock benchmark: each wrk thread (one connection per thread) serves
-- one API of the plan, in turn, so every API gets its share of the 16 connections and a
-- thread can talk to its own server (Prism runs one process per spec). A thread cycles
-- through its API's requests (several operations, ids and bodies) and counts the statuses
-- it receives. The plan is a Lua file written by http_load.py (JOBMOCK_BENCH_PLAN).

local plan = dofile(os.getenv("JOBMOCK_BENCH_PLAN"))
local threads = {}
local assigned = 0

function setup(thread)
  assigned = assigned % #plan.apis + 1
  local api = plan.apis[assigned]
  thread.addr = wrk.lookup(api.host, tostring(api.port))[1]
  thread:set("api_index", assigned)
  table.insert(threads, thread)
end

function init(args)
  local api = plan.apis[api_index]
  prepared = {}
  for i, r in ipairs(api.requests) do
    local headers = {}
    for k, v in pairs(r.headers) do headers[k] = v end
    headers["Host"] = api.host .. ":" .. api.port
    prepared[i] = wrk.format(r.method, r.path, headers, r.body)
  end
  cursor = 0
  statuses = {}
end

function request()
  cursor = cursor % #prepared + 1
  return prepared[cursor]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%s":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'JOBMOCK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ",")))
end
