//! `ET-Client-Name`: who is calling, on every Entur request.
//!
//! Entur API authentication: "Use a value that uniquely identifies your company and application,
//! in the form `<company>-<application>` (lowercase, no spaces)", e.g.
//! `forsen_utvikling-infoplakat`. Requests without it may be rate limited or blocked.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;

use crate::WireError;

/// The longest value we accept; real names are far shorter.
const MAX_LEN: usize = 100;

/// A validated `ET-Client-Name` value: `<company>-<application>`, lowercase, no spaces.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientName {
    value: String,
    header: HeaderValue,
}

impl ClientName {
    /// Validates `value` against Entur's rule.
    pub fn new(value: &str) -> Result<Self, WireError> {
        if let Some(reason) = rule_broken_by(value) {
            return Err(WireError::InvalidClientName {
                value: value.to_owned(),
                reason,
            });
        }
        let header = HeaderValue::from_str(value).map_err(|_| WireError::InvalidClientName {
            value: value.to_owned(),
            reason: "is not a valid header value".into(),
        })?;
        Ok(Self {
            value: value.to_owned(),
            header,
        })
    }

    /// The value as sent.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The value as a header, ready to send.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }
}

/// Which part of the rule `value` breaks, if any.
fn rule_broken_by(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".into());
    }
    if value.len() > MAX_LEN {
        return Some(format!("is longer than {MAX_LEN} characters"));
    }
    if value.chars().any(char::is_whitespace) {
        return Some("contains a space".into());
    }
    if value.chars().any(char::is_uppercase) {
        return Some("contains uppercase letters".into());
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(*c)))
    {
        return Some(format!("contains {bad:?}"));
    }
    match value.split_once('-') {
        None => Some("has no '-' between company and application".into()),
        Some((company, application)) if company.is_empty() || application.is_empty() => {
            Some("needs both a company and an application part".into())
        }
        Some(_) => None,
    }
}

impl FromStr for ClientName {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientName({:?})", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_example_is_valid() {
        let name = ClientName::new("forsen_utvikling-infoplakat").unwrap();
        assert_eq!(name.as_str(), "forsen_utvikling-infoplakat");
        assert!(ClientName::new("acme-route-planner.v2").is_ok());
    }

    #[test]
    fn bad_values_explain_the_rule() {
        for (bad, why) in [
            ("Forsen_Utvikling-Infoplakat", "uppercase"),
            ("forsen utvikling-infoplakat", "space"),
            ("infoplakat", "no '-'"),
            ("-infoplakat", "both"),
            ("forsen-", "both"),
            ("", "empty"),
            ("forsen-info/plakat", "'/'"),
        ] {
            let err = ClientName::new(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(err.contains("<company>-<application>"), "{err}");
        }
    }
}
