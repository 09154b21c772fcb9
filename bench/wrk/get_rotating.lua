-- GET the page as several logged-in residents, in turn: `cookies` (set by the harness) holds
-- one Cookie header per line, one per resident logged in through the real flow.
local jar = {}
for line in string.gmatch(cookies, "[^\n]+") do
  table.insert(jar, line)
end
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", nil, {
    ["Cookie"] = jar[(n % #jar) + 1],
    ["Accept"] = "text/html",
    ["Accept-Language"] = "fr-FR,fr;q=0.9",
  })
end
