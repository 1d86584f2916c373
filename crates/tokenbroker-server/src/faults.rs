//! Fault knobs: make the local server misbehave the ways real ones do, on demand.
//!
//! Tests and the demo flip these at run time to check that the client survives slow servers,
//! error statuses, broken bodies and the `expires_in` variants real providers send.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

/// A broken body the token endpoint can send instead of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BodyFault {
    /// A proper token response.
    None = 0,
    /// A 200 with a body that is not JSON.
    NotJson = 1,
    /// A 200 with an HTML error page (what proxies send).
    Html = 2,
    /// A 200 JSON object without `access_token`.
    MissingAccessToken = 3,
    /// A 200 JSON body larger than any client should read (1 MiB).
    Oversized = 4,
}

/// How `expires_in` appears in token responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExpiresInFormat {
    /// The endpoint's dialect decides (a string for Telenor Sweden, a number elsewhere).
    Dialect = 0,
    /// Always a JSON number.
    Number = 1,
    /// Always a numeric string, as Telenor Sweden Open APIs shows (`"3599"`).
    String = 2,
    /// Left out: clients must use the JWT's `exp`.
    Missing = 3,
}

/// The fault knobs of one server; all default to "behave".
#[derive(Debug, Default)]
pub struct Faults {
    delay_ms: AtomicU64,
    status: AtomicU16,
    retry_after_secs: AtomicU64,
    body: AtomicU8,
    expires_in: AtomicU8,
    advertised_expires_in: AtomicU64,
    opaque_tokens: std::sync::atomic::AtomicBool,
}

impl Faults {
    /// Delays every token response by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Answers every token request with `status` (and an RFC 6749 error body); `None` to stop.
    pub fn fail_with_status(&self, status: Option<u16>) {
        self.status.store(status.unwrap_or(0), Ordering::Relaxed);
    }

    /// Sends `Retry-After` with injected failures; `None` to stop.
    pub fn set_retry_after(&self, after: Option<Duration>) {
        self.retry_after_secs
            .store(after.map_or(0, |d| d.as_secs()), Ordering::Relaxed);
    }

    /// Sends a broken body instead of a token.
    pub fn set_body(&self, fault: BodyFault) {
        self.body.store(fault as u8, Ordering::Relaxed);
    }

    /// Chooses how `expires_in` is sent.
    pub fn set_expires_in(&self, format: ExpiresInFormat) {
        self.expires_in.store(format as u8, Ordering::Relaxed);
    }

    /// Advertises this `expires_in` regardless of the token's real `exp` (to test that clients
    /// take the earlier of the two); `None` to tell the truth.
    pub fn advertise_expires_in(&self, seconds: Option<u64>) {
        self.advertised_expires_in
            .store(seconds.unwrap_or(0), Ordering::Relaxed);
    }

    /// Issues random opaque tokens instead of JWTs (Telenor's tokens look like this, Telenor Norway client credentials grant),
    /// so clients cannot read an `exp` claim.
    pub fn set_opaque_tokens(&self, opaque: bool) {
        self.opaque_tokens.store(opaque, Ordering::Relaxed);
    }

    /// Clears every fault.
    pub fn reset(&self) {
        self.set_delay(Duration::ZERO);
        self.fail_with_status(None);
        self.set_retry_after(None);
        self.set_body(BodyFault::None);
        self.set_expires_in(ExpiresInFormat::Dialect);
        self.advertise_expires_in(None);
        self.set_opaque_tokens(false);
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        let ms = self.delay_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    pub(crate) fn status(&self) -> Option<u16> {
        let status = self.status.load(Ordering::Relaxed);
        (status != 0).then_some(status)
    }

    pub(crate) fn retry_after(&self) -> Option<u64> {
        let secs = self.retry_after_secs.load(Ordering::Relaxed);
        (secs != 0).then_some(secs)
    }

    pub(crate) fn body(&self) -> BodyFault {
        match self.body.load(Ordering::Relaxed) {
            1 => BodyFault::NotJson,
            2 => BodyFault::Html,
            3 => BodyFault::MissingAccessToken,
            4 => BodyFault::Oversized,
            _ => BodyFault::None,
        }
    }

    pub(crate) fn expires_in(&self) -> ExpiresInFormat {
        match self.expires_in.load(Ordering::Relaxed) {
            1 => ExpiresInFormat::Number,
            2 => ExpiresInFormat::String,
            3 => ExpiresInFormat::Missing,
            _ => ExpiresInFormat::Dialect,
        }
    }

    pub(crate) fn opaque_tokens(&self) -> bool {
        self.opaque_tokens.load(Ordering::Relaxed)
    }

    pub(crate) fn advertised_expires_in(&self) -> Option<u64> {
        let secs = self.advertised_expires_in.load(Ordering::Relaxed);
        (secs != 0).then_some(secs)
    }
}
