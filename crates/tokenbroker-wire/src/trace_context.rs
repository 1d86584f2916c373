//! W3C Trace Context: the `traceparent` header
//! ([§3.2](https://www.w3.org/TR/trace-context/#traceparent-header)) that ties one request's
//! hops into a trace. A hop that forwards a request continues the caller's trace: the next hop
//! sees the same trace id, with this hop's own span id as its parent
//! ([§4.3](https://www.w3.org/TR/trace-context/#mutating-the-traceparent-field)). A missing or
//! malformed `traceparent` starts a new trace, and the `tracestate` that came with a malformed
//! one is dropped ([§3.3.1](https://www.w3.org/TR/trace-context/#tracestate-header)).

use std::fmt;

#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel;

/// The header that carries the trace.
pub const TRACEPARENT: &str = "traceparent";
/// Vendor-specific trace data, forwarded unchanged with a valid `traceparent`.
pub const TRACESTATE: &str = "tracestate";

/// The longest `tracestate` forwarded: 32 members of at most 256 characters plus commas
/// (§3.3.1.1 allows a vendor to cut beyond 512; this keeps whole lists of the maximum size).
pub const MAX_TRACESTATE_BYTES: usize = 32 * 257;

/// A parsed `traceparent` (version 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace: 16 bytes, not all zero.
    pub trace_id: [u8; 16],
    /// The span of the hop that sent it: 8 bytes, not all zero.
    pub parent_id: [u8; 8],
    /// Trace flags; bit 0 is `sampled`.
    pub flags: u8,
}

/// The length of a version-00 `traceparent`.
const VERSION_00_LENGTH: usize = 55;

impl TraceParent {
    /// Parses a header value. Version 00 must be exactly 55 characters; a later version is read
    /// by its version-00 prefix when what follows is `-` (§4.3); version `ff`, upper-case hex and
    /// all-zero ids are invalid.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        if bytes.len() < VERSION_00_LENGTH {
            return None;
        }
        let version = hex_byte(&bytes[0..2])?;
        let fits = match version {
            0 => bytes.len() == VERSION_00_LENGTH,
            0xff => false,
            _ => bytes.len() == VERSION_00_LENGTH || bytes[VERSION_00_LENGTH] == b'-',
        };
        if !fits || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id: [u8; 16] = hex_bytes(&bytes[3..35])?;
        let parent_id: [u8; 8] = hex_bytes(&bytes[36..52])?;
        let flags = hex_byte(&bytes[53..55])?;
        let valid = trace_id != [0; 16] && parent_id != [0; 8];
        valid.then_some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The caller's trace from request headers: exactly one `traceparent` that parses. Several,
    /// or one that does not parse, are no trace (§4.2: the receiver then starts a new one).
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let mut received = headers.get_all(TRACEPARENT).iter();
        match (received.next(), received.next()) {
            (Some(value), None) => value.to_str().ok().and_then(Self::parse),
            _ => None,
        }
    }

    /// A new trace, sampled: this hop starts it.
    pub fn new_root() -> Self {
        let mut trace_id = [0; 16];
        fill_nonzero(&mut trace_id);
        let mut parent_id = [0; 8];
        fill_nonzero(&mut parent_id);
        Self {
            trace_id,
            parent_id,
            flags: 1,
        }
    }

    /// The same trace with a new span of this hop as the parent; flags are kept.
    pub fn child(&self) -> Self {
        let mut parent_id = [0; 8];
        fill_nonzero(&mut parent_id);
        Self { parent_id, ..*self }
    }

    /// The trace id as 32 lower-case hex digits (how logs and tracing back ends show it).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn parent_id_hex(&self) -> String {
        hex(&self.parent_id)
    }
}

impl fmt::Display for TraceParent {
    /// The version-00 header value (this hop speaks version 00 whatever it received, §4.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.parent_id),
            self.flags
        )
    }
}

fn fill_nonzero(bytes: &mut [u8]) {
    // Trace ids need to be unique, not secret: a fast thread-local generator is enough (§3.2.2.3
    // asks for randomness, not for a cryptographic source).
    loop {
        bytes.iter_mut().for_each(|byte| *byte = fastrand::u8(..));
        if bytes.iter().any(|byte| *byte != 0) {
            return;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?)
}

fn hex_bytes<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_byte(pair)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_specification_example_round_trips() {
        let parsed = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(parsed.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.parent_id_hex(), "00f067aa0ba902b7");
        assert_eq!(parsed.flags, 1);
        assert_eq!(parsed.to_string(), EXAMPLE);
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_and_gets_a_new_parent() {
        let parent = TraceParent::parse(EXAMPLE).unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.flags, parent.flags);
        assert_ne!(child.parent_id, parent.parent_id);
        assert_eq!(TraceParent::parse(&child.to_string()), Some(child));
        let root = TraceParent::new_root();
        assert_eq!(TraceParent::parse(&root.to_string()), Some(root));
    }

    #[test]
    fn only_one_valid_header_is_a_trace() {
        let value = http::HeaderValue::from_static(EXAMPLE);
        let mut headers = http::HeaderMap::new();
        assert_eq!(TraceParent::from_headers(&headers), None);
        headers.insert(TRACEPARENT, value.clone());
        assert_eq!(
            TraceParent::from_headers(&headers),
            TraceParent::parse(EXAMPLE)
        );
        headers.append(TRACEPARENT, value);
        assert_eq!(TraceParent::from_headers(&headers), None, "two are none");
        headers.insert(TRACEPARENT, http::HeaderValue::from_static("00-zz"));
        assert_eq!(TraceParent::from_headers(&headers), None);
    }

    #[test]
    fn malformed_values_are_refused() {
        let refused = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ];
        for value in refused {
            assert_eq!(TraceParent::parse(value), None, "{value}");
        }
        // A later version is read by its version-00 prefix.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more";
        assert!(TraceParent::parse(later).is_some());
    }

    proptest::proptest! {
        /// Any text parses or is refused, never a panic; what parses prints back as parsed.
        #[test]
        fn any_text_is_handled(value in "[0-9a-f-]{50,60}|.{0,80}") {
            if let Some(parsed) = TraceParent::parse(&value) {
                proptest::prop_assert_eq!(TraceParent::parse(&parsed.to_string()), Some(parsed));
            }
        }
    }
}
