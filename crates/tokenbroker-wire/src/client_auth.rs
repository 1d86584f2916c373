//! Client authentication at the token endpoint (and at revocation and introspection), encoded by
//! the client **and** decoded by the server, so both sides read the same bytes the same way.
//!
//! - [`AuthStyle::Json`]: the credentials in a JSON body (Entur partner authentication, Auth0).
//! - [`AuthStyle::Form`]: the credentials in a form body, `client_secret_post`
//!   ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
//! - [`AuthStyle::Basic`]: `Authorization: Basic`, `client_secret_basic` (RFC 6749 §2.3.1; Telenor
//!   Norway client credentials grant: "your client_id as your basic authentication username, and
//!   the client_secret as the basic authentication password"). RFC 6749 §2.3.1 form-urlencodes
//!   both before base64 ([`BasicEncoding::Rfc`]); some Apigee-style servers expect the bare values
//!   ([`BasicEncoding::Raw`]), so the decoder tries both readings.
//!
//! A request uses exactly one method ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::{ClientSecret, WireError};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthStyle {
    /// Credentials in a JSON body (Entur/Auth0).
    Json,
    /// Credentials in a form body (`client_secret_post`).
    Form,
    /// Credentials in an `Authorization: Basic` header (`client_secret_basic`, Telenor).
    #[default]
    Basic,
}

impl FromStr for AuthStyle {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "form" | "post" | "client_secret_post" => Ok(Self::Form),
            "basic" | "client_secret_basic" => Ok(Self::Basic),
            _ => Err(WireError::unknown(
                "auth_style",
                s,
                "json (Entur), basic (Telenor) or form",
            )),
        }
    }
}

impl fmt::Display for AuthStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Basic => "basic",
        })
    }
}

/// How the client id and secret are encoded inside the Basic header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BasicEncoding {
    /// Form-urlencode id and secret before base64, as RFC 6749 §2.3.1 requires.
    #[default]
    Rfc,
    /// Send id and secret as they are; some Apigee-style servers expect this, and a secret with
    /// special characters then fails the RFC encoding.
    Raw,
}

impl FromStr for BasicEncoding {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rfc" | "urlencoded" => Ok(Self::Rfc),
            "raw" => Ok(Self::Raw),
            _ => Err(WireError::unknown(
                "basic_encoding",
                s,
                "rfc (the default) or raw",
            )),
        }
    }
}

/// A client-authenticated request body, ready to send: `Debug` hides the credentials.
pub struct EncodedRequest {
    /// `Authorization: Basic …` (marked sensitive), for [`AuthStyle::Basic`].
    pub authorization: Option<HeaderValue>,
    /// The body's media type.
    pub content_type: HeaderValue,
    /// The body: the parameters, with the credentials unless they went in `authorization`.
    pub body: Vec<u8>,
}

impl fmt::Debug for EncodedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedRequest")
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Encodes `params` (repeated names allowed, e.g. RFC 8707 `resource`) with the client's
/// credentials in `style`.
pub fn encode(
    style: AuthStyle,
    encoding: BasicEncoding,
    client_id: &str,
    secret: &ClientSecret,
    params: &[(&str, &str)],
) -> EncodedRequest {
    let credentials = [
        ("client_id", client_id),
        ("client_secret", secret.expose_secret()),
    ];
    match style {
        AuthStyle::Basic => EncodedRequest {
            authorization: Some(basic_authorization(
                client_id,
                secret.expose_secret(),
                encoding,
            )),
            content_type: form_content_type(),
            body: form_body(params.iter()),
        },
        AuthStyle::Form => EncodedRequest {
            authorization: None,
            content_type: form_content_type(),
            body: form_body(params.iter().chain(&credentials)),
        },
        AuthStyle::Json => EncodedRequest {
            authorization: None,
            content_type: HeaderValue::from_static("application/json"),
            body: json_body(credentials.iter().chain(params)),
        },
    }
}

/// `Basic base64(id:secret)`, with id and secret encoded as `encoding` says; marked sensitive.
pub fn basic_authorization(client_id: &str, secret: &str, encoding: BasicEncoding) -> HeaderValue {
    let credentials = match encoding {
        BasicEncoding::Rfc => format!("{}:{}", urlencode(client_id), urlencode(secret)),
        BasicEncoding::Raw => format!("{client_id}:{secret}"),
    };
    let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
        .expect("base64 is always a valid header value");
    value.set_sensitive(true);
    value
}

fn form_content_type() -> HeaderValue {
    HeaderValue::from_static("application/x-www-form-urlencoded")
}

fn form_body<'a>(pairs: impl Iterator<Item = &'a (&'a str, &'a str)>) -> Vec<u8> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish().into_bytes()
}

/// A JSON object of the pairs; a repeated name becomes an array (several RFC 8707 resources).
fn json_body<'a>(pairs: impl Iterator<Item = &'a (&'a str, &'a str)>) -> Vec<u8> {
    let mut body = Map::new();
    for (name, value) in pairs {
        match body.get_mut(*name) {
            Some(Value::Array(values)) => values.push((*value).into()),
            Some(existing) => *existing = Value::Array(vec![existing.take(), (*value).into()]),
            None => {
                body.insert((*name).into(), (*value).into());
            }
        }
    }
    serde_json::to_vec(&Value::Object(body)).expect("a JSON object of strings serializes")
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// How a request authenticated its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (RFC 6749 §2.3.1).
    Basic,
    /// Credentials in a form body (`client_secret_post`).
    Form,
    /// Credentials in a JSON body (Entur/Auth0).
    Json,
}

/// One reading of the credentials a request presents.
#[derive(Debug, Clone)]
pub struct PresentedCredentials {
    /// The client id.
    pub client_id: String,
    /// The secret (its `Debug` shows a fingerprint only).
    pub secret: ClientSecret,
}

/// A decoded client-authenticated request.
#[derive(Debug)]
pub struct ClientRequest {
    /// The authentication method used.
    pub method: AuthMethod,
    /// Candidate readings of the credentials, best first: Basic credentials are read
    /// form-decoded and, where that differs, raw. Empty when none were sent.
    pub credentials: Vec<PresentedCredentials>,
    /// Every parameter of the body, in order (credentials included).
    params: Vec<(String, String)>,
}

impl ClientRequest {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of parameter `name` (RFC 8707 `resource` may repeat).
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Why a client-authenticated request could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An `Authorization` header that is not `Basic base64(client_id:client_secret)`.
    #[error("malformed Authorization header: expected Basic base64(client_id:client_secret)")]
    MalformedAuthorization,
    /// Basic authentication and a `client_secret` in the body at once.
    #[error("the request uses more than one client authentication method (RFC 6749 §2.3)")]
    SeveralMethods,
    /// A body `client_id` other than the Basic one.
    #[error("client_id in the body differs from the Basic credentials")]
    ClientIdMismatch,
    /// A `client_secret` in the body without a `client_id`.
    #[error("client_secret without client_id")]
    SecretWithoutId,
    /// A JSON body that does not parse.
    #[error("the JSON body does not parse: {0}")]
    Json(#[source] serde_json::Error),
    /// A JSON body that is not an object.
    #[error("the JSON body is not an object")]
    NotAnObject,
    /// A value longer than its bound (client ids, secrets and parameters are short).
    #[error("{what} is longer than {max} bytes")]
    TooLong {
        /// Which value.
        what: &'static str,
        /// Its bound.
        max: usize,
    },
    /// A client id with a control character (NUL, newline, escape…): no registered id has one.
    #[error("client_id contains a control character")]
    ControlCharacter,
    /// More parameters than any token request needs.
    #[error("more than {MAX_PARAMS} parameters")]
    TooManyParameters,
    /// A parameter sent twice (RFC 6749 §3.2: parameters MUST NOT be included more than once;
    /// RFC 8707's `resource` is the exception).
    #[error("parameter {0:?} is repeated (RFC 6749 §3.2)")]
    Repeated(String),
}

/// The longest client id accepted (RFC 6749 leaves it open; ours are short, Auth0's are 32
/// characters). Longer ones are refused before any lookup or counting.
pub const MAX_CLIENT_ID_BYTES: usize = 255;

/// The longest client secret accepted (generated secrets are 43 characters).
pub const MAX_SECRET_BYTES: usize = 1024;

/// The longest parameter value accepted (a long `scope` list fits).
pub const MAX_PARAM_BYTES: usize = 4096;

/// The most parameters a request may carry.
pub const MAX_PARAMS: usize = 32;

/// Parameters that may repeat: RFC 8707 `resource`.
const REPEATABLE: &[&str] = &["resource"];

/// Refuses parameter lists that break the bounds or repeat a parameter.
fn check_params(params: &[(String, String)]) -> Result<(), DecodeError> {
    if params.len() > MAX_PARAMS {
        return Err(DecodeError::TooManyParameters);
    }
    for (index, (name, value)) in params.iter().enumerate() {
        if name.len() > MAX_PARAM_BYTES || value.len() > MAX_PARAM_BYTES {
            return Err(DecodeError::TooLong {
                what: "a parameter",
                max: MAX_PARAM_BYTES,
            });
        }
        if !REPEATABLE.contains(&name.as_str())
            && params[..index].iter().any(|(earlier, _)| earlier == name)
        {
            return Err(DecodeError::Repeated(name.clone()));
        }
    }
    Ok(())
}

/// Refuses credentials that no registered client could have.
fn check_credentials(reading: &PresentedCredentials) -> Result<(), DecodeError> {
    if reading.client_id.len() > MAX_CLIENT_ID_BYTES {
        return Err(DecodeError::TooLong {
            what: "client_id",
            max: MAX_CLIENT_ID_BYTES,
        });
    }
    if reading.secret.expose_secret().len() > MAX_SECRET_BYTES {
        return Err(DecodeError::TooLong {
            what: "client_secret",
            max: MAX_SECRET_BYTES,
        });
    }
    if reading.client_id.chars().any(char::is_control) {
        return Err(DecodeError::ControlCharacter);
    }
    Ok(())
}

/// Decodes a request's headers and body: its parameters and the credentials it presents.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<ClientRequest, DecodeError> {
    let json = is_json(headers);
    let params = if json {
        json_params(body)?
    } else {
        form_urlencoded::parse(body)
            .into_owned()
            .take(MAX_PARAMS + 1)
            .collect()
    };
    check_params(&params)?;
    let first = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let body_method = if json {
        AuthMethod::Json
    } else {
        AuthMethod::Form
    };
    let (method, mut credentials) = match (basic_credentials(headers)?, first("client_secret")) {
        (Some(_), Some(_)) => return Err(DecodeError::SeveralMethods),
        (Some(readings), None) => {
            if let Some(id) = first("client_id") {
                if !readings.iter().any(|reading| &reading.client_id == id) {
                    return Err(DecodeError::ClientIdMismatch);
                }
            }
            (AuthMethod::Basic, readings)
        }
        (None, Some(secret)) => {
            let client_id = first("client_id").ok_or(DecodeError::SecretWithoutId)?;
            let reading = PresentedCredentials {
                client_id: client_id.clone(),
                secret: ClientSecret::new(secret.clone()),
            };
            (body_method, vec![reading])
        }
        (None, None) => (body_method, Vec::new()),
    };
    // Basic credentials come in two readings; one that breaks a bound (a raw `%0a` reads as a
    // newline once form-decoded) is dropped, and only when none is left is the request refused.
    let mut refusal = None;
    credentials.retain(|reading| match check_credentials(reading) {
        Ok(()) => true,
        Err(error) => {
            refusal.get_or_insert(error);
            false
        }
    });
    if let (true, Some(refusal)) = (credentials.is_empty(), refusal) {
        return Err(refusal);
    }
    Ok(ClientRequest {
        method,
        credentials,
        params,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// A JSON object's members as parameters: strings as they are, arrays as repeated parameters,
/// other scalars as their JSON text, `null` as absent.
fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, DecodeError> {
    let Value::Object(fields) = serde_json::from_slice(body).map_err(DecodeError::Json)? else {
        return Err(DecodeError::NotAnObject);
    };
    let mut params = Vec::new();
    for (name, value) in fields {
        match value {
            Value::String(s) => params.push((name, s)),
            Value::Array(items) => params.extend(
                items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(|s| (name.clone(), s.to_owned()))),
            ),
            Value::Null => {}
            other => params.push((name, other.to_string())),
        }
    }
    Ok(params)
}

/// The Basic credentials as (form-decoded, raw) readings; `None` without an `Authorization`
/// header.
fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<Vec<PresentedCredentials>>, DecodeError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = DecodeError::MalformedAuthorization;
    let value = value
        .to_str()
        .map_err(|_| DecodeError::MalformedAuthorization)?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| DecodeError::MalformedAuthorization)?;
    let decoded = String::from_utf8(decoded).map_err(|_| DecodeError::MalformedAuthorization)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(DecodeError::MalformedAuthorization)?;
    let form_decoded = (form_decode(id), form_decode(secret));
    let mut readings = vec![form_decoded.clone()];
    if form_decoded != (id.to_owned(), secret.to_owned()) {
        readings.push((id.to_owned(), secret.to_owned()));
    }
    Ok(Some(
        readings
            .into_iter()
            .map(|(client_id, secret)| PresentedCredentials {
                client_id,
                secret: ClientSecret::new(secret),
            })
            .collect(),
    ))
}

fn form_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers_of(encoded: &EncodedRequest) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, encoded.content_type.clone());
        if let Some(authorization) = &encoded.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        headers
    }

    fn round_trip(
        style: AuthStyle,
        encoding: BasicEncoding,
        id: &str,
        secret: &str,
    ) -> ClientRequest {
        let params = [
            ("grant_type", "client_credentials"),
            ("resource", "https://a.example"),
            ("resource", "https://b.example"),
        ];
        let encoded = encode(style, encoding, id, &ClientSecret::new(secret), &params);
        decode(&headers_of(&encoded), &encoded.body).expect("our own encoding decodes")
    }

    fn readings(request: &ClientRequest) -> Vec<(String, String)> {
        request
            .credentials
            .iter()
            .map(|c| (c.client_id.clone(), c.secret.expose_secret().to_owned()))
            .collect()
    }

    #[test]
    fn the_telenor_example_header() {
        // "Basic Q2xpZW50SWQ6U2VjcmV0" is base64 of "ClientId:Secret".
        let header = basic_authorization("ClientId", "Secret", BasicEncoding::Rfc);
        assert_eq!(header.to_str().unwrap(), "Basic Q2xpZW50SWQ6U2VjcmV0");
        assert!(header.is_sensitive());
    }

    #[test]
    fn special_characters_are_urlencoded_unless_raw() {
        let decoded = |header: HeaderValue| {
            let encoded = header
                .to_str()
                .unwrap()
                .strip_prefix("Basic ")
                .unwrap()
                .to_owned();
            String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
        };
        let rfc = basic_authorization("my id", "p@ss:w+rd/é", BasicEncoding::Rfc);
        assert_eq!(decoded(rfc), "my+id:p%40ss%3Aw%2Brd%2F%C3%A9");
        let raw = basic_authorization("my id", "p@ss:w+rd/é", BasicEncoding::Raw);
        assert_eq!(decoded(raw), "my id:p@ss:w+rd/é");
    }

    #[test]
    fn the_entur_json_body() {
        let encoded = encode(
            AuthStyle::Json,
            BasicEncoding::Rfc,
            "id",
            &ClientSecret::new("sec"),
            &[
                ("grant_type", "client_credentials"),
                ("audience", "https://api.entur.io"),
                ("resource", "https://a.example"),
                ("resource", "https://b.example"),
            ],
        );
        let body: Value = serde_json::from_slice(&encoded.body).unwrap();
        assert_eq!(body["client_id"], "id");
        assert_eq!(body["client_secret"], "sec");
        assert_eq!(body["audience"], "https://api.entur.io");
        assert_eq!(body["grant_type"], "client_credentials");
        assert_eq!(body["resource"].as_array().unwrap().len(), 2);
        assert!(!format!("{encoded:?}").contains("sec\""));
    }

    #[test]
    fn basic_credentials_are_read_both_ways() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("my+id:p%40ss"));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        let request = decode(&headers, b"grant_type=client_credentials").unwrap();
        assert_eq!(request.method, AuthMethod::Basic);
        assert_eq!(
            readings(&request),
            [
                ("my id".to_owned(), "p@ss".to_owned()),
                ("my+id".to_owned(), "p%40ss".to_owned())
            ]
        );
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("a:b"));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        let error = decode(&headers, b"client_id=a&client_secret=b").unwrap_err();
        assert!(matches!(error, DecodeError::SeveralMethods), "{error}");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for value in ["Basic", "Basic !!!", "Bearer abc", "Basic bm9jb2xvbg=="] {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert!(decode(&headers, b"").is_err(), "{value}");
        }
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(matches!(
            decode(&json, b"[1]"),
            Err(DecodeError::NotAnObject)
        ));
        let error = decode(&json, b"{").unwrap_err();
        assert!(std::error::Error::source(&error).is_some());
    }

    /// Ids and secrets with every awkward character: `:`, `+`, `%`, `&`, `=`, spaces, quotes,
    /// backslashes and non-ASCII.
    fn awkward() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9:+%&= \"\\\\/@éø€✓-]{0,40}").unwrap()
    }

    proptest! {
        #[test]
        fn what_the_client_encodes_the_server_decodes(id in awkward(), secret in awkward()) {
            let want = (id.clone(), secret.clone());
            for style in [AuthStyle::Json, AuthStyle::Form, AuthStyle::Basic] {
                let request = round_trip(style, BasicEncoding::Rfc, &id, &secret);
                prop_assert_eq!(&readings(&request)[0], &want, "{}", style);
                prop_assert_eq!(request.params("resource").len(), 2);
                prop_assert_eq!(request.param("grant_type"), Some("client_credentials"));
            }
        }

        #[test]
        fn raw_basic_credentials_are_among_the_readings(
            id in awkward().prop_filter("RFC 7617: a user-id has no ':'", |id| !id.contains(':')),
            secret in awkward(),
        ) {
            let request = round_trip(AuthStyle::Basic, BasicEncoding::Raw, &id, &secret);
            prop_assert!(readings(&request).contains(&(id, secret)));
        }

        #[test]
        fn arbitrary_input_never_panics(authorization in ".{0,80}", body in proptest::collection::vec(any::<u8>(), 0..200), json in any::<bool>()) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&authorization) {
                headers.insert(AUTHORIZATION, value);
            }
            if json {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            if let Ok(request) = decode(&headers, &body) {
                for reading in &request.credentials {
                    prop_assert!(reading.client_id.len() <= MAX_CLIENT_ID_BYTES);
                    prop_assert!(!reading.client_id.chars().any(char::is_control));
                }
            }
        }
    }

    fn form(body: &str) -> Result<ClientRequest, DecodeError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        decode(&headers, body.as_bytes())
    }

    /// RFC 6749 §3.2: no parameter twice, except RFC 8707 `resource`; and the bounds hold before
    /// any credential is looked at.
    #[test]
    fn repeated_and_oversized_parameters_are_refused() {
        assert!(matches!(
            form("grant_type=client_credentials&grant_type=client_credentials"),
            Err(DecodeError::Repeated(name)) if name == "grant_type"
        ));
        assert!(
            form("resource=https://a&resource=https://b&grant_type=client_credentials").is_ok()
        );
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(matches!(
            decode(
                &headers,
                br#"{"client_id": ["a", "b"], "client_secret": "s"}"#
            ),
            Err(DecodeError::Repeated(_))
        ));
        let many: Vec<String> = (0..=MAX_PARAMS).map(|n| format!("p{n}=v")).collect();
        assert!(matches!(
            form(&many.join("&")),
            Err(DecodeError::TooManyParameters)
        ));
        let long = format!("scope={}", "s".repeat(MAX_PARAM_BYTES + 1));
        assert!(matches!(form(&long), Err(DecodeError::TooLong { .. })));
        let id = "i".repeat(MAX_CLIENT_ID_BYTES + 1);
        assert!(matches!(
            form(&format!("client_id={id}&client_secret=s")),
            Err(DecodeError::TooLong {
                what: "client_id",
                ..
            })
        ));
        assert!(matches!(
            form("client_id=a%00b&client_secret=s"),
            Err(DecodeError::ControlCharacter)
        ));
        // A raw Basic id whose form-decoded reading has a control character keeps its raw one.
        let mut headers = HeaderMap::new();
        let basic = STANDARD.encode("id%0a:secret");
        headers.insert(AUTHORIZATION, format!("Basic {basic}").parse().unwrap());
        let request = decode(&headers, b"grant_type=client_credentials").unwrap();
        assert_eq!(request.credentials.len(), 1);
        assert_eq!(request.credentials[0].client_id, "id%0a");
    }

    /// Every bound accepts its limit exactly: refusing one byte early would refuse real clients.
    #[test]
    fn each_bound_accepts_its_limit() {
        let id = "i".repeat(MAX_CLIENT_ID_BYTES);
        let secret = "s".repeat(MAX_SECRET_BYTES);
        let request = form(&format!("client_id={id}&client_secret={secret}")).unwrap();
        assert_eq!(request.credentials[0].client_id.len(), MAX_CLIENT_ID_BYTES);
        let secret_over = "s".repeat(MAX_SECRET_BYTES + 1);
        assert!(matches!(
            form(&format!("client_id=a&client_secret={secret_over}")),
            Err(DecodeError::TooLong {
                what: "client_secret",
                ..
            })
        ));
        let exactly: Vec<String> = (0..MAX_PARAMS).map(|n| format!("p{n}=v")).collect();
        assert!(form(&exactly.join("&")).is_ok());
        let scope = "s".repeat(MAX_PARAM_BYTES);
        let request = form(&format!("scope={scope}")).unwrap();
        assert_eq!(request.param("scope").map(str::len), Some(MAX_PARAM_BYTES));
    }
}
