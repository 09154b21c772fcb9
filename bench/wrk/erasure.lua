-- One-click erasure: the form of /mon-espace/supprimer?tous=1, a fresh submission key each time
-- (the same key would be a double click, answered with the first request).
-- `cookie`, `csrf`, `form` (the signatory fields, url-encoded) and `run` come from the harness.
local counter = 0
thread_id = 0  -- a global: setup() gives each thread its own
local ids = 0

setup = function(thread)
  ids = ids + 1
  thread:set("thread_id", ids)
end

request = function()
  counter = counter + 1
  local key = string.format("b%s-%d-%d", run, thread_id, counter)
  local body = "csrftoken=" .. csrf .. "&kind=erasure&submission_key=" .. key .. "&" .. form
  return wrk.format("POST", "/mon-espace/demandes", {
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "text/html",
  }, body)
end
