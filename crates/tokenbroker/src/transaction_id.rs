//! `X-Transaction-Id`: a unique id on every request (Telenor Sweden, seed 004).

use http::HeaderValue;

/// The header Telenor's Communication APIs require on every call.
pub const TRANSACTION_ID_HEADER: &str = "X-Transaction-Id";

/// A fresh random (UUID v4) transaction id, different on every call.
pub fn new_transaction_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .expect("a UUID is always a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_uuids() {
        let a = new_transaction_id();
        let b = new_transaction_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
