-- Administrators may log in to the partner portal with a password (Argon2id, NULL: none set),
-- and portal sessions live in the registry so every node of a fleet honours them.
ALTER TABLE admins ADD COLUMN password_hash TEXT;

CREATE TABLE admin_sessions (
    session_hash TEXT PRIMARY KEY,  -- keyed hash (pepper) of the session id; never the id
    admin_id     TEXT NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,   -- idle expiry counts from here (written once a minute)
    expires_at   BIGINT NOT NULL    -- absolute expiry
);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id, created_at);
