-- GET the page as a logged-in browser would: the session cookies the real login flow set.
-- `cookie` is set by the harness.
wrk.method = "GET"
wrk.headers["Cookie"] = cookie
wrk.headers["Accept"] = "text/html"
wrk.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
