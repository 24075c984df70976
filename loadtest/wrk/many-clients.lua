-- GET /health from a new client address on every request, as a flood of
-- distinct clients looks to the rate limiter: the worst case for its table.
-- Needs the runtime started with RATE_LIMIT (e.g. 100/m) and
-- TRUSTED_PROXIES=127.0.0.1, so that X-Forwarded-For names the client:
--   RATE_LIMIT=100/m TRUSTED_PROXIES=127.0.0.1 target/release/runtime &
--   wrk -t2 -c64 -d20s --latency -s loadtest/wrk/many-clients.lua http://127.0.0.1:5000
-- Compare req/s and the runtime's RSS with health.lua on the same binary;
-- rate_limit_clients_evicted_total counts the clients forgotten to make room.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local n = 0
c.install(function()
  n = n + 1
  -- 198.18.0.0/15 and then onwards: reserved for tests, never a real client.
  local a = (n + math.random(0, 1000000)) % 16777216
  local high, mid = math.floor(a / 65536), math.floor(a / 256) % 256
  local forwarded = string.format("198.%d.%d.%d", 18 + high % 2, mid, a % 256)
  if n % 2 == 0 then
    forwarded = string.format("2001:db8:%x:%x::1", high, a % 65536)
  end
  return wrk.format("GET", "/health", { ["X-Forwarded-For"] = forwarded })
end)
