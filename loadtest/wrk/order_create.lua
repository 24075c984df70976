-- POST /api/orders: a random user in 1..USERS and two distinct random
-- products in 1..PRODUCTS, quantity 1 each. The products need ample stock
-- (the bench data set gives each 1,000,000,000), or 409s follow.
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/order_create.lua http://127.0.0.1:5000 -- users=10000 products=1000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local users, products
local headers = { ["Content-Type"] = "application/json" }

c.install(function()
  local a = math.random(1, products)
  local b = a
  if products > 1 then
    b = math.random(1, products - 1)
    if b >= a then b = b + 1 end
  end
  local body
  if a == b then
    body = string.format('{"user_id":%d,"items":[{"product_id":%d,"quantity":1}]}', math.random(1, users), a)
  else
    body = string.format('{"user_id":%d,"items":[{"product_id":%d,"quantity":1},{"product_id":%d,"quantity":1}]}',
      math.random(1, users), a, b)
  end
  return wrk.format("POST", "/api/orders", headers, body)
end, function()
  users = c.int_opt("users", 10000)
  products = c.int_opt("products", 1000)
end)
