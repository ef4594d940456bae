-- wrk script: POST one fixed JSON body per request over keep-alive.
--
-- Usage: wrk ... -s bench/post.lua URL -- BODY_FILE
--
-- The body is read from BODY_FILE (passed after "--") so that run.sh's curl
-- pre-flight and wrk send the very same bytes; without an argument the
-- example request below is used.
--
-- Deliberately no request()/response() functions: with only static fields
-- wrk formats the request once and never enters Lua per request, so the
-- (single-core, saturated) client stays as fast as possible.

wrk.method = "POST"
wrk.body   = '{"features":[1.0,2.0,3.5]}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
   local path = args[1]
   if path == nil or path == "" then
      return
   end
   local f = assert(io.open(path, "rb"))
   wrk.body = f:read("*a")
   f:close()
end
