//! Short, non-reversible fingerprints of secrets and tokens.
//!
//! PRODUCT.md § Conventions: `Debug`, `Display`, logs and errors show at most a short fingerprint
//! of a secret or token. Eight hex digits of SHA-256 tell two tokens apart in a log without
//! revealing anything usable.

use sha2::{Digest, Sha256};

/// The first eight hex digits of the SHA-256 of `secret`, e.g. `sha256:1f2e3d4c`.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(15);
    out.push_str("sha256:");
    for byte in &digest[..4] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_short_stable_and_hides_the_input() {
        let a = fingerprint("super-secret-value");
        assert_eq!(a, fingerprint("super-secret-value"));
        assert_ne!(a, fingerprint("super-secret-valuE"));
        assert_eq!(a.len(), "sha256:".len() + 8);
        assert!(!a.contains("secret"));
    }
}
