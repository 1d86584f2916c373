-- Each connection waits DELAY_MS (default 5) between requests: 50 connections then ask for
-- roughly 10,000 requests/s, well below what any server in bench/agent_proxy.sh sustains on 2
-- cores, so p99 shows the latency a proxy adds rather than queueing at saturation. Scripts that
-- vary the connection count scale DELAY_MS with it to keep the offered rate.
local wait = tonumber(os.getenv("DELAY_MS") or "5")
function delay()
  return wait
end
