-- Shared by the wrk scripts in this folder (loaded with dofile by each).
--
-- Options come as key=value arguments after "--" on the wrk command line,
-- or else from the environment (upper-case name), or else the default:
--   wrk -t2 -c64 -d10s --latency -s loadtest/wrk/user_get.lua http://127.0.0.1:5000 -- users=10000
--   USERS=10000 wrk ... -s loadtest/wrk/user_get.lua http://127.0.0.1:5000
--
-- Every script counts the responses by status class in each thread and
-- prints one line at the end (loadtest/bench reads it):
--   wrk-lua: responses=N 2xx=N 3xx=N 4xx=N 5xx=N non_2xx=N
-- wrk's own "Non-2xx or 3xx responses" line counts only 4xx and 5xx.

local M = {}

local opts = {}

function M.parse_args(args)
  for _, a in ipairs(args or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then
      opts[k:lower()] = v
    elseif tonumber(a) then
      opts["_n"] = a -- a bare number: the script's main range
    end
  end
end

function M.opt(name, default)
  local v = opts[name:lower()] or os.getenv(name:upper())
  if v == nil or v == "" then return default end
  return v
end

-- main: a bare number after "--" (wrk ... -- 10000) also sets this option.
function M.int_opt(name, default, main)
  local v = tonumber(M.opt(name, nil) or (main and opts["_n"]) or default)
  if v == nil or v < 1 then
    error(name .. " must be a positive integer")
  end
  return math.floor(v)
end

-- Seeds each thread differently (threads start in the same second).
function M.seed()
  local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
  math.randomseed(os.time() + addr % 1000003)
  for _ = 1, 10 do math.random() end
end

-- Per-thread counters; wrk copies them to the main state through thread:get.
counts = { total = 0, s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, other = 0 }

function M.count(status)
  counts.total = counts.total + 1
  if status >= 200 and status < 300 then counts.s2xx = counts.s2xx + 1
  elseif status >= 300 and status < 400 then counts.s3xx = counts.s3xx + 1
  elseif status >= 400 and status < 500 then counts.s4xx = counts.s4xx + 1
  elseif status >= 500 and status < 600 then counts.s5xx = counts.s5xx + 1
  else counts.other = counts.other + 1 end
end

-- Installs setup/init/response/done globals around a request builder.
-- make_request() returns the raw request (wrk.format) for one call.
-- A script can pass a fixed request string instead (built once per thread).
function M.install(make_request, on_init)
  local threads = {}

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    M.parse_args(args)
    M.seed()
    if on_init then on_init() end
  end

  function request()
    return make_request()
  end

  function response(status, headers, body)
    M.count(status)
  end

  function done(summary, latency, requests)
    local t = { total = 0, s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, other = 0 }
    for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      if c then
        for k, _ in pairs(t) do t[k] = t[k] + (c[k] or 0) end
      end
    end
    io.write(string.format(
      "wrk-lua: responses=%d 2xx=%d 3xx=%d 4xx=%d 5xx=%d non_2xx=%d socket_errors=%d\n",
      t.total, t.s2xx, t.s3xx, t.s4xx, t.s5xx, t.total - t.s2xx,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  end
end

return M
