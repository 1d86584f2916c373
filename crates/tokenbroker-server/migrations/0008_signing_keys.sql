-- Signing keys live in the registry, so every node of a fleet signs and publishes the same ones.
-- The private key is sealed with the key-encryption key, which is never stored here.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    sealed_key   TEXT NOT NULL,
    publish_from BIGINT NOT NULL,
    signs_from   BIGINT NOT NULL,
    signs_until  BIGINT,
    retire_after BIGINT,
    created_at   BIGINT NOT NULL
);
