//! The JOSE header of a compact JWS, read the way the verifier needs it
//! ([RFC 7515 §4.1](https://www.rfc-editor.org/rfc/rfc7515#section-4.1)): `alg`, `typ` and `kid`
//! as text borrowed from the decoded header (see `json_value.rs`), whether `crit` is present,
//! and every other member skipped without being kept. A member with the same name twice is
//! refused, which
//! [RFC 7515 §4](https://www.rfc-editor.org/rfc/rfc7515#section-4) allows in place of keeping the
//! last one.

use serde::Deserialize;

use crate::json_value::JsonValue;

/// The header members the verifier checks before it looks up a key.
#[derive(Debug, Deserialize)]
pub(crate) struct JoseHeader<'a> {
    #[serde(borrow, default)]
    alg: JsonValue<'a>,
    #[serde(borrow, default)]
    typ: JsonValue<'a>,
    #[serde(borrow, default)]
    kid: JsonValue<'a>,
    #[serde(borrow, default)]
    crit: JsonValue<'a>,
}

impl<'a> JoseHeader<'a> {
    /// The header in `json` (a decoded header segment); `None` unless it is one JSON object with
    /// no member named twice.
    pub(crate) fn parse(json: &'a [u8]) -> Option<Self> {
        // A derived struct would also accept a JSON array of the members in order.
        if json.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(json).ok()
    }

    /// `alg`, when it is a string.
    pub(crate) fn alg(&self) -> Option<&str> {
        self.alg.text()
    }

    /// `typ`, when it is a string.
    pub(crate) fn typ(&self) -> Option<&str> {
        self.typ.text()
    }

    /// `kid`, when it is a string.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.text()
    }

    /// True when the header has a `crit` member, whatever its value.
    pub(crate) fn has_crit(&self) -> bool {
        self.crit.is_present()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn members_are_borrowed_unless_escaped() {
        let json = br#"{"alg":"RS256","typ":"at\u002bjwt","kid":"k1","x5t":[1,{"a":null}]}"#;
        let header = JoseHeader::parse(json).unwrap();
        assert_eq!(header.alg(), Some("RS256"));
        assert!(matches!(header.alg, JsonValue::Text(Cow::Borrowed(_))));
        assert_eq!(header.typ(), Some("at+jwt"));
        assert!(matches!(header.typ, JsonValue::Text(Cow::Owned(_))));
        assert_eq!(header.kid(), Some("k1"));
        assert!(!header.has_crit());
    }

    #[test]
    fn a_member_of_another_type_reads_as_absent() {
        for value in [
            "5",
            "-1",
            "1.5",
            "true",
            "null",
            "[\"at+jwt\"]",
            "{\"a\":[]}",
        ] {
            let json = format!(r#"{{"alg":"ES256","typ":{value},"kid":{value}}}"#);
            let header = JoseHeader::parse(json.as_bytes()).unwrap();
            assert_eq!((header.typ(), header.kid()), (None, None), "{value}");
            assert_eq!(header.alg(), Some("ES256"));
        }
    }

    #[test]
    fn crit_is_seen_whatever_its_value() {
        for value in ["[\"exp-ext\"]", "null", "0"] {
            let json = format!(r#"{{"alg":"ES256","crit":{value}}}"#);
            assert!(JoseHeader::parse(json.as_bytes()).unwrap().has_crit());
        }
    }

    #[test]
    fn anything_but_one_object_with_unique_members_is_refused() {
        for json in [
            r#"["RS256","at+jwt","k1"]"#,
            r#""RS256""#,
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"alg":"RS256"} {}"#,
            r#"{"alg":"RS256""#,
            "",
        ] {
            assert!(JoseHeader::parse(json.as_bytes()).is_none(), "{json}");
        }
    }
}
