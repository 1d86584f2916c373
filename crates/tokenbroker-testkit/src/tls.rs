//! A self-signed certificate for HTTPS servers in tests (our AS with TLS, an HTTPS upstream).

use std::path::{Path, PathBuf};

/// A certificate for 127.0.0.1 and localhost, written as PEM files.
pub struct SelfSigned {
    /// `cert.pem`: the certificate, which clients must be told to trust.
    pub cert: PathBuf,
    /// `key.pem`: its private key.
    pub key: PathBuf,
    /// The certificate's PEM text, for a client's trust store.
    pub cert_pem: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Generates a self-signed certificate for 127.0.0.1 and localhost and writes it to `dir`.
pub fn self_signed(dir: &Path) -> SelfSigned {
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("a self-signed certificate");
    let cert_pem = generated.cert.pem();
    let files = SelfSigned {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        cert_pem,
    };
    std::fs::write(&files.cert, &files.cert_pem).expect("cert.pem written");
    std::fs::write(&files.key, generated.signing_key.serialize_pem()).expect("key.pem written");
    files
}
