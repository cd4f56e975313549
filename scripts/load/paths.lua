-- wrk script: GET the paths in $PATHS (space-separated) in turn, with the
-- Cookie header in $COOKIE, and count answers by status class. The summary
-- line "statuses: 2xx=… 3xx=… 4xx=… 5xx=… 503=…" (503s are also counted in
-- 5xx) is what scripts/load.sh checks.
local paths = {}
for p in string.gmatch(os.getenv("PATHS") or "/", "%S+") do
  table.insert(paths, p)
end
local cookie = os.getenv("COOKIE") or ""
local threads = {}
local i = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  i = id
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Cookie"] = cookie })
end

function response(status, headers, body)
  local class = tostring(math.floor(status / 100)) .. "xx"
  counts[class] = (counts[class] or 0) + 1
  if status == 503 then
    counts["503"] = (counts["503"] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do
      total[k] = (total[k] or 0) + v
    end
  end
  local line = "statuses:"
  for _, k in ipairs({ "2xx", "3xx", "4xx", "5xx", "503" }) do
    line = line .. " " .. k .. "=" .. (total[k] or 0)
  end
  print(line)
end
