-- GET /api/orders/{id} (the order with its items) with id random in
-- 1..ORDERS (default 10000, the bench data set; orders=1 for the sample data).
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/order_get.lua http://127.0.0.1:5000 -- orders=10000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local orders
c.install(function()
  return wrk.format("GET", "/api/orders/" .. math.random(1, orders))
end, function()
  orders = c.int_opt("orders", 10000, true)
end)
