-- Counting a client's outstanding revocations (each client may hold a bounded number).
CREATE INDEX revoked_tokens_by_client ON revoked_tokens (client_id);
