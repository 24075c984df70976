-- GET /api/users/{id} with id random in 1..USERS (default 10000, the bench
-- data set; use users=3 for the sample data).
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/user_get.lua http://127.0.0.1:5000 -- users=10000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

local users
c.install(function()
  return wrk.format("GET", "/api/users/" .. math.random(1, users))
end, function()
  users = c.int_opt("users", 10000, true)
end)
