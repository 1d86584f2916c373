-- Each connection waits 5 ms between requests: 50 connections then ask for roughly 10,000
-- requests/s, well below what any server in bench/agent_proxy.sh sustains on 2 cores, so p99
-- shows the latency a proxy adds rather than queueing at saturation.
function delay()
  return 5
end
