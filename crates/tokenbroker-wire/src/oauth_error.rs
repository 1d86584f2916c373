//! Error responses: the [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) body
//! both sides use, and Telenor's numeric error codes (Telenor Norway client credentials grant),
//! each named once.

use serde::{Deserialize, Serialize};

/// An RFC 6749 §5.2 error body, with the numeric `code` Telenor-style servers add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code, e.g. `invalid_client`.
    pub error: String,
    /// Human-readable text for the developer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Telenor's numeric error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
}

/// One of Telenor's numeric error codes: the HTTP status it comes with, the number, and what it
/// means. The same number means different things under different statuses (2 is a bad
/// `grant_type` under 400, an invalid token under 401 and an internal error under 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelenorCode {
    /// The HTTP status Telenor answers with.
    pub status: u16,
    /// The numeric code in the body.
    pub code: u32,
    /// What it means, in Telenor's words.
    pub meaning: &'static str,
}

impl TelenorCode {
    const fn new(status: u16, code: u32, meaning: &'static str) -> Self {
        Self {
            status,
            code,
            meaning,
        }
    }

    /// 400 / 2: missing or invalid `grant_type`.
    pub const INVALID_GRANT_TYPE: Self = Self::new(400, 2, "missing or invalid grant_type");
    /// 401 / 1: invalid client id.
    pub const INVALID_CLIENT_ID: Self = Self::new(401, 1, "invalid client id");
    /// 401 / 2: invalid access token (logout).
    pub const INVALID_ACCESS_TOKEN: Self = Self::new(401, 2, "invalid access token");
    /// 401 / 4: invalid authorization code.
    pub const INVALID_AUTHORIZATION_CODE: Self = Self::new(401, 4, "invalid authorization code");
    /// 401 / 5: not authorized to create an access token.
    pub const NOT_AUTHORIZED: Self = Self::new(401, 5, "not authorized to create access token");
    /// 401 / 6: missing or bad `Authorization` header.
    pub const BAD_AUTHORIZATION_HEADER: Self =
        Self::new(401, 6, "missing or bad Authorization header");
    /// 401 / 7: invalid `refresh_token`.
    pub const INVALID_REFRESH_TOKEN: Self = Self::new(401, 7, "invalid refresh_token");
    /// 401 / 9: invalid client data.
    pub const INVALID_CLIENT_DATA: Self = Self::new(401, 9, "invalid client data");
    /// 401 / 21: the client may not use the requested grant type.
    pub const GRANT_TYPE_NOT_PERMITTED: Self = Self::new(
        401,
        21,
        "insufficient permissions to use the requested grant_type",
    );
    /// 401 / 22: Basic authentication failed.
    pub const BASIC_AUTH_FAILED: Self = Self::new(
        401,
        22,
        "Basic Authentication failed, bad username or password",
    );
    /// 403 / 8: illegal or unauthorized scope.
    pub const ILLEGAL_SCOPE: Self = Self::new(403, 8, "illegal or unauthorized scope");
    /// 403 / 12: invalid redirect URI.
    pub const INVALID_REDIRECT_URI: Self = Self::new(403, 12, "invalid redirect URI");
    /// 403 / 15: illegal response type.
    pub const ILLEGAL_RESPONSE_TYPE: Self = Self::new(403, 15, "illegal response type");
    /// 500 / 2: internal server error.
    pub const INTERNAL_ERROR: Self = Self::new(500, 2, "internal server error");
    /// 500 / 16: invalid app attributes.
    pub const INVALID_APP_ATTRIBUTES: Self =
        Self::new(500, 16, "invalid app attributes, contact the Telenor admin");

    /// Every code Telenor documents.
    pub const ALL: [Self; 15] = [
        Self::INVALID_GRANT_TYPE,
        Self::INVALID_CLIENT_ID,
        Self::INVALID_ACCESS_TOKEN,
        Self::INVALID_AUTHORIZATION_CODE,
        Self::NOT_AUTHORIZED,
        Self::BAD_AUTHORIZATION_HEADER,
        Self::INVALID_REFRESH_TOKEN,
        Self::INVALID_CLIENT_DATA,
        Self::GRANT_TYPE_NOT_PERMITTED,
        Self::BASIC_AUTH_FAILED,
        Self::ILLEGAL_SCOPE,
        Self::INVALID_REDIRECT_URI,
        Self::ILLEGAL_RESPONSE_TYPE,
        Self::INTERNAL_ERROR,
        Self::INVALID_APP_ATTRIBUTES,
    ];

    /// The documented code for this status and number, if any.
    pub fn lookup(status: u16, code: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|known| known.status == status && known.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_per_status_and_found_again() {
        for (i, a) in TelenorCode::ALL.iter().enumerate() {
            assert_eq!(TelenorCode::lookup(a.status, a.code), Some(*a));
            for b in &TelenorCode::ALL[i + 1..] {
                assert!((a.status, a.code) != (b.status, b.code), "{a:?} twice");
            }
        }
        assert_eq!(TelenorCode::lookup(401, 3), None);
    }

    #[test]
    fn bodies_omit_what_is_absent() {
        let body = ErrorBody {
            error: "invalid_client".into(),
            error_description: None,
            code: Some(22),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":"invalid_client","code":22}"#
        );
    }
}
