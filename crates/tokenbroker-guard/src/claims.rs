//! The claims of a signed token as the verifier checks them
//! ([RFC 7519 §4.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1),
//! [RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)): the registered claims
//! it reads, borrowed from the decoded payload (see `json_value.rs`); every other claim is
//! checked as JSON and dropped, so a payload read here also reads as a `serde_json` map, which
//! `VerifiedToken::claims` builds only when a caller asks for it.
//!
//! A claim this reads, named twice, is refused:
//! [RFC 7519 §4](https://www.rfc-editor.org/rfc/rfc7519#section-4) allows that in place of
//! keeping the last one, and it leaves no doubt which `exp` or `aud` was checked.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::json_value::JsonValue;

/// The registered claims the verifier and [`VerifiedToken`](crate::VerifiedToken) read.
#[derive(Debug, Default)]
pub(crate) struct Claims<'a> {
    pub(crate) iss: JsonValue<'a>,
    pub(crate) aud: JsonValue<'a>,
    pub(crate) exp: JsonValue<'a>,
    pub(crate) nbf: JsonValue<'a>,
    pub(crate) scope: JsonValue<'a>,
    pub(crate) scp: JsonValue<'a>,
    pub(crate) jti: JsonValue<'a>,
}

impl<'a> Claims<'a> {
    /// The claims in `json` (a decoded payload); `None` unless it is one JSON object that
    /// `serde_json` reads, with none of the claims read here named twice.
    pub(crate) fn parse(json: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(json).ok()
    }

    /// The field a claim name is read into, if it is one read here.
    fn field(&mut self, name: &str) -> Option<&mut JsonValue<'a>> {
        Some(match name {
            "iss" => &mut self.iss,
            "aud" => &mut self.aud,
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            "scope" => &mut self.scope,
            "scp" => &mut self.scp,
            "jti" => &mut self.jti,
            _ => return None,
        })
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Claims<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = Claims<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut claims = Claims::default();
        while let Some(name) = members.next_key::<JsonValue<'de>>()? {
            // serde_json reads object keys as strings only.
            let value = members.next_value::<JsonValue<'de>>()?;
            let Some(field) = name.text().and_then(|name| claims.field(name)) else {
                continue;
            };
            if field.is_present() {
                return Err(de::Error::custom("a claim named twice"));
            }
            *field = value;
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn registered_claims_are_read_and_others_dropped() {
        let json = br#"{"iss":"https://as","aud":["a","b"],"exp":1700000000,"nbf":null,
            "scope":"x y","jti":"j","sub":"s","extra":{"deep":[1,2,{"x":"y"}]}}"#;
        let claims = Claims::parse(json).unwrap();
        assert_eq!(claims.iss.text(), Some("https://as"));
        assert_eq!(claims.aud, JsonValue::Array(vec!["a".into(), "b".into()]));
        assert_eq!(claims.exp, JsonValue::Whole(1_700_000_000));
        assert_eq!(claims.nbf, JsonValue::Null);
        assert_eq!(claims.scope.text(), Some("x y"));
        assert_eq!(claims.scp, JsonValue::Absent);
        assert_eq!(claims.jti.text(), Some("j"));
    }

    #[test]
    fn a_registered_claim_named_twice_is_refused_others_are_not() {
        assert!(Claims::parse(br#"{"exp":1,"exp":2}"#).is_none());
        assert!(Claims::parse(br#"{"aud":"a","aud":"b"}"#).is_none());
        assert!(Claims::parse(br#"{"sub":"a","sub":"b"}"#).is_some());
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        for json in ["[]", "\"x\"", "1", "null", "{} {}", "{", ""] {
            assert!(Claims::parse(json.as_bytes()).is_none(), "{json}");
        }
    }

    proptest! {
        /// Whatever reads here reads as a `serde_json` map too (`VerifiedToken::claims` counts
        /// on it), and an object serde_json reads, without duplicates, reads here.
        #[test]
        fn reads_wherever_a_map_reads(text in "\\{[\\[\\]{}\",:0-9eE.+\\-a-z\\\\ ]{0,40}\\}?") {
            let map = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text);
            if Claims::parse(text.as_bytes()).is_some() {
                prop_assert!(map.is_ok());
            }
        }
    }
}
