-- GET /health (no database): the ceiling of the HTTP layer alone.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(here .. "common.lua")

c.install(function()
  return wrk.format("GET", "/health")
end)
