-- GET PATH?after=A&limit=LIMIT with A random in the last tenth of the ids
-- 1..MAX: deep keyset pages, which should cost what the first page does.
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/keyset_deep.lua http://127.0.0.1:5000 -- path=/api/users max=1000000
-- Options: path (default /api/users), max (the highest id, default
-- 1000000), limit (default 50), tail (how deep, as the share of the ids at
-- the end that A is drawn from: default 0.1). A stays at most max - limit,
-- so every page is full; loadtest/scale runs this for users, products and
-- orders.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local path, lo, hi, limit
c.install(function()
  return wrk.format("GET", path .. "?after=" .. math.random(lo, hi) .. "&limit=" .. limit)
end, function()
  path = c.opt("path", "/api/users")
  limit = c.int_opt("limit", 50)
  local max = c.int_opt("max", 1000000, true)
  local tail = tonumber(c.opt("tail", "0.1"))
  if tail == nil or tail <= 0 or tail > 1 then error("tail must be in (0, 1]") end
  hi = math.max(max - limit, 0)
  lo = math.max(math.floor(max * (1 - tail)), 0)
  if lo > hi then lo = hi end
end)
