//! A JSON value as the verifier reads a JWS header member or a claim: strings borrowed from the
//! decoded segment (copied only when the JSON escapes a character), whole numbers kept, arrays
//! kept as their string elements, and everything else checked and dropped.
//!
//! Why not `serde_json::Value`: a map of owned values cost a dozen allocations per header and
//! two dozen per claim set, a measurable share of the guard's time over a bare signature check
//! (see the README's guard benchmark). Every value is read through `deserialize_any`, the path
//! `serde_json::Value` takes, so this accepts exactly the JSON that `Value` accepts (numbers out
//! of range, bad escapes and lone surrogates are refused alike); `VerifiedToken::claims` relies
//! on that.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// One JSON value, or `Absent` for a member that is not there (the `Default`, for
/// `#[serde(default)]` fields: an `Option` would read `null` as absent).
#[derive(Debug, Default, PartialEq)]
pub(crate) enum JsonValue<'a> {
    /// The member is not in the object.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A string.
    Text(Cow<'a, str>),
    /// An integer from 0 to `u64::MAX`.
    Whole(u64),
    /// Any other number: negative, fractional or written with an exponent.
    OtherNumber,
    /// `true` or `false`.
    Bool,
    /// An array, keeping only its string elements.
    Array(Vec<Cow<'a, str>>),
    /// An object, checked and dropped.
    Object,
}

impl JsonValue<'_> {
    /// The text, when this is a string.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            JsonValue::Text(text) => Some(text),
            _ => None,
        }
    }

    /// True unless the member is absent (`null` is present).
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, JsonValue::Absent)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = JsonValue<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(JsonValue::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(JsonValue::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonValue::Bool)
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(JsonValue::Whole(number))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
        // serde_json hands non-negative integers to visit_u64; this is for other formats.
        Ok(u64::try_from(number).map_or(JsonValue::OtherNumber, JsonValue::Whole))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(JsonValue::OtherNumber)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut texts = Vec::new();
        while let Some(item) = items.next_element::<JsonValue<'de>>()? {
            if let JsonValue::Text(text) = item {
                texts.push(text);
            }
        }
        Ok(JsonValue::Array(texts))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        while members
            .next_entry::<JsonValue<'de>, JsonValue<'de>>()?
            .is_some()
        {}
        Ok(JsonValue::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(json: &str) -> Option<JsonValue<'_>> {
        serde_json::from_str(json).ok()
    }

    #[test]
    fn values_are_read_by_kind() {
        assert_eq!(read(r#""at+jwt""#), Some(JsonValue::Text("at+jwt".into())));
        assert!(matches!(
            read(r#""a""#),
            Some(JsonValue::Text(Cow::Borrowed(_)))
        ));
        assert!(matches!(
            read(r#""\u0061""#),
            Some(JsonValue::Text(Cow::Owned(_)))
        ));
        assert_eq!(
            read("18446744073709551615"),
            Some(JsonValue::Whole(u64::MAX))
        );
        for other in ["-1", "1.0", "1e3", "18446744073709551616"] {
            assert_eq!(read(other), Some(JsonValue::OtherNumber), "{other}");
        }
        assert_eq!(read("null"), Some(JsonValue::Null));
        assert_eq!(read("false"), Some(JsonValue::Bool));
        assert_eq!(
            read(r#"["a", 1, {"b": ["c"]}, "d"]"#),
            Some(JsonValue::Array(vec!["a".into(), "d".into()]))
        );
        assert_eq!(read(r#"{"a": [1, {"b": null}]}"#), Some(JsonValue::Object));
    }

    #[test]
    fn what_serde_json_value_refuses_is_refused() {
        for bad in [
            r#""\ud800""#,
            "1e400",
            r#"{"a":1e999}"#,
            r#"["\x"]"#,
            "[1,]",
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
            assert!(read(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        /// The same acceptance as `serde_json::Value`, on arbitrary text and on JSON-ish text.
        #[test]
        fn accepts_exactly_what_value_accepts(text in "[\\[\\]{}\",:0-9eE.+\\-a-z\\\\u ]{0,40}") {
            prop_assert_eq!(
                read(&text).is_some(),
                serde_json::from_str::<serde_json::Value>(&text).is_ok()
            );
        }
    }
}
