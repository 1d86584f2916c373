-- Revoked access tokens (a jti denylist kept until each token's exp) and refresh tokens.

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    exp        BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_time ON revoked_tokens (revoked_at);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,           -- HMAC-SHA256 with the pepper; the token is never stored
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   TEXT NOT NULL,
    scope      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_client ON refresh_tokens (client_id);
