-- wrk script: sign in again and again through the login form, as a browser
-- does: GET /login (a CSRF cookie and token), then POST the e-mail and
-- password in $EMAIL and $PASSWORD with them. Run it with one connection per
-- thread so that each thread's two steps alternate. Prints "statuses: …" and
-- "sign-ins: N" (POSTs answered 303, a new session).
local threads = {}
local email = os.getenv("EMAIL")
local password = os.getenv("PASSWORD")

local function encode(s)
  return (string.gsub(s, "[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  signins = 0
  step = "page"
  cookie = ""
  token = ""
end

function request()
  if step == "page" then
    return wrk.format("GET", "/login")
  end
  local body = "csrf_token=" .. encode(token) .. "&email=" .. encode(email) .. "&password=" .. encode(password)
  return wrk.format("POST", "/login", {
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  local class = tostring(math.floor(status / 100)) .. "xx"
  counts[class] = (counts[class] or 0) + 1
  if step == "page" then
    local set = headers["set-cookie"] or headers["Set-Cookie"] or ""
    cookie = string.match(set, "^([^;]+)") or ""
    token = string.match(body, 'name="csrf_token" value="([^"]*)"') or ""
    step = "post"
  else
    if status == 303 then
      signins = signins + 1
    end
    step = "page"
  end
end

function done(summary, latency, requests)
  local total, n = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
    n = n + t:get("signins")
  end
  local line = "statuses:"
  for _, k in ipairs({ "2xx", "3xx", "4xx", "5xx" }) do
    line = line .. " " .. k .. "=" .. (total[k] or 0)
  end
  print(line)
  print("sign-ins: " .. n)
end
