-- GET /api/products?limit=LIMIT (default 50): a catalogue page.
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/product_list.lua http://127.0.0.1:5000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local req
c.install(function()
  return req
end, function()
  req = wrk.format("GET", "/api/products?limit=" .. c.int_opt("limit", 50))
end)
