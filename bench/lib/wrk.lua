-- wrk script for the bench harness: POST an OpenAI chat body, and at the end
-- print one JSON line that bench/lib/wrk.py reads (wrk's text summary rounds
-- its figures; the done() hook sees the exact ones).
--
--   wrk ... -s bench/lib/wrk.lua URL -- [stream]

wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer x"

local plain = '{"model":"m","messages":[{"role":"user","content":"Say twenty words."}]}'
local streaming = '{"model":"m","messages":[{"role":"user","content":"Say twenty words."}],"stream":true}'

function init(args)
  if args[1] == "stream" then
    wrk.body = streaming
  else
    wrk.body = plain
  end
end

-- No request() function: wrk then formats the request once, after init,
-- and sends that string without calling into Lua per request.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
