//! The key ring: which keys are published, which one signs, and when that changes.
//!
//! Rotation without breaking anyone: a new key is published at least one JWKS cache period
//! before it starts signing (so every verifier has it by then), and the old key stays published
//! until every token it signed has expired.

use crate::keys::SigningKey;
use crate::verify::OwnTokens;

/// One key and its schedule (Unix seconds).
#[derive(Debug)]
pub struct KeyEntry {
    /// The key.
    pub key: SigningKey,
    /// From when it is published.
    pub publish_from: i64,
    /// From when it signs new tokens.
    pub signs_from: i64,
    /// Until when it signs (set when a successor is scheduled).
    pub signs_until: Option<i64>,
    /// From when it is no longer published (set when a successor is scheduled).
    pub retire_after: Option<i64>,
}

/// The keys of an issuer at one moment.
pub struct KeyRing {
    entries: Vec<KeyEntry>,
    verifier: OwnTokens,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring of `entries` for `issuer`; at least one entry.
    pub fn new(issuer: &str, entries: Vec<KeyEntry>) -> Self {
        assert!(!entries.is_empty(), "a key ring needs a key");
        let keys: Vec<&SigningKey> = entries.iter().map(|e| &e.key).collect();
        Self {
            verifier: OwnTokens::new(issuer, &keys),
            entries,
        }
    }

    /// A ring with one key that signs from the beginning of time.
    pub fn single(issuer: &str, key: SigningKey) -> Self {
        Self::new(
            issuer,
            vec![KeyEntry {
                key,
                publish_from: 0,
                signs_from: 0,
                signs_until: None,
                retire_after: None,
            }],
        )
    }

    /// The key that signs at `now`: the latest whose `signs_from` has come.
    pub fn signing_key(&self, now: i64) -> &SigningKey {
        self.entries
            .iter()
            .filter(|e| e.signs_from <= now)
            .max_by_key(|e| e.signs_from)
            .or_else(|| self.entries.iter().min_by_key(|e| e.signs_from))
            .map(|e| &e.key)
            .expect("at least one key")
    }

    /// The keys to publish at `now`: those whose publication has begun and not yet ended.
    pub fn published(&self, now: i64) -> Vec<&SigningKey> {
        self.entries
            .iter()
            .filter(|e| e.publish_from <= now && e.retire_after.is_none_or(|retire| retire > now))
            .map(|e| &e.key)
            .collect()
    }

    /// Every entry, for listing.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// Verifies tokens signed by any key of the ring.
    pub fn verifier(&self) -> &OwnTokens {
        &self.verifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;

    fn entry(signs_from: i64, signs_until: Option<i64>, retire_after: Option<i64>) -> KeyEntry {
        KeyEntry {
            key: SigningKey::generate(KeyAlgorithm::Es256).unwrap(),
            publish_from: 0,
            signs_from,
            signs_until,
            retire_after,
        }
    }

    #[test]
    fn the_next_key_is_published_before_it_signs_and_the_old_one_after() {
        let ring = KeyRing::new(
            "iss",
            vec![entry(0, Some(1_300), Some(5_000)), entry(1_300, None, None)],
        );
        let (old, new) = (ring.entries()[0].key.kid(), ring.entries()[1].key.kid());
        // Before the switch: the old key signs, both are published.
        assert_eq!(ring.signing_key(1_000).kid(), old);
        assert_eq!(ring.published(1_000).len(), 2);
        // After the switch: the new key signs, the old one is still published for its tokens.
        assert_eq!(ring.signing_key(1_300).kid(), new);
        assert_eq!(ring.published(4_999).len(), 2);
        // After retirement: only the new key.
        let published: Vec<&str> = ring.published(5_000).iter().map(|k| k.kid()).collect();
        assert_eq!(published, [new]);
    }
}
