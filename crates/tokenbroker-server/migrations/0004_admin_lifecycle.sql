-- Administrator tokens can expire and be revoked (a leaked tba_ token is no longer permanent).
ALTER TABLE admins ADD COLUMN expires_at BIGINT;
ALTER TABLE admins ADD COLUMN revoked_at BIGINT;
