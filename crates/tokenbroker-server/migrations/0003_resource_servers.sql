-- Clients that may introspect tokens issued to other clients (resource servers, RFC 7662 §4).
ALTER TABLE clients ADD COLUMN introspect BIGINT NOT NULL DEFAULT 0;
