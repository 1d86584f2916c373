-- wrk script: a client-credentials token request with HTTP Basic authentication.
-- BASIC holds base64(client_id:client_secret); the body is the RFC 6749 §4.4.2 form.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
