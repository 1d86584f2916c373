//! `ET-Client-Name`: who is calling, on every Entur request.
//!
//! Seed 000/002: "Use a value that uniquely identifies your company and application, in the form
//! `<company>-<application>` (lowercase, no spaces)", e.g. `forsen_utvikling-infoplakat`.
//! Requests without it may be rate limited or blocked.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;

use crate::error::Error;

/// The header name Entur uses to identify the calling application.
pub const CLIENT_NAME_HEADER: &str = "ET-Client-Name";

/// The longest value we accept; real names are far shorter.
const MAX_LEN: usize = 100;

/// A validated `ET-Client-Name` value: `<company>-<application>`, lowercase, no spaces.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientName {
    value: String,
    header: HeaderValue,
}

impl ClientName {
    /// Validates `value` against the seed's rule.
    pub fn new(value: &str) -> Result<Self, Error> {
        let rule = "ET-Client-Name must be <company>-<application>, lowercase, no spaces \
                    (for example forsen_utvikling-infoplakat)";
        let reject = |why: &str| {
            Err(Error::Config(format!(
                "client_name {value:?}: {why}; {rule}"
            )))
        };
        if value.is_empty() {
            return reject("is empty");
        }
        if value.len() > MAX_LEN {
            return reject("is longer than 100 characters");
        }
        if value.chars().any(char::is_whitespace) {
            return reject("contains a space");
        }
        if value.chars().any(|c| c.is_uppercase()) {
            return reject("contains uppercase letters");
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(*c)))
        {
            return reject(&format!("contains {bad:?}"));
        }
        let Some((company, application)) = value.split_once('-') else {
            return reject("has no '-' between company and application");
        };
        if company.is_empty() || application.is_empty() {
            return reject("needs both a company and an application part");
        }
        let header = HeaderValue::from_str(value)
            .map_err(|_| Error::Config(format!("client_name {value:?} is not a valid header")))?;
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

impl FromStr for ClientName {
    type Err = Error;

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
    fn the_seed_example_is_valid() {
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
