-- The client registry, portable between SQLite and PostgreSQL: text ids, integer Unix seconds,
-- integer 0/1 flags (what both databases and sqlx's Any driver agree on).

CREATE TABLE clients (
    client_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    audiences        TEXT NOT NULL,          -- space-separated
    scopes           TEXT NOT NULL,          -- space-separated
    lifetime_seconds BIGINT,                 -- NULL: the issuer's default
    refresh_tokens   BIGINT NOT NULL DEFAULT 0,
    enabled          BIGINT NOT NULL DEFAULT 1,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE client_secrets (
    secret_id    TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,              -- 'hmac-sha256' (generated) or 'argon2id' (imported)
    hash         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,                     -- NULL: valid until rotated out
    last_used_at BIGINT
);
CREATE INDEX client_secrets_by_client ON client_secrets (client_id);

CREATE TABLE admins (
    admin_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE admin_roles (
    admin_id TEXT NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    PRIMARY KEY (admin_id, role)
);

CREATE TABLE audit_log (
    event_id  TEXT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    client_id TEXT,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_log_by_client ON audit_log (client_id, at);
