//! `tokenbroker request`: an authenticated API call with the profile's headers.

use std::io::{Read, Write};

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;

use crate::args::{CacheArgs, ProfileArgs};
use crate::commands::token_cache::token_cache;
use crate::config;
use crate::exit::{CliError, CliResult, FAILURE, REJECTED};

/// What to send.
pub(crate) struct RequestSpec<'a> {
    /// Target URL.
    pub url: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// `Name: value` headers.
    pub headers: &'a [String],
    /// Body, `@FILE` or `@-`.
    pub data: Option<&'a str>,
}

/// Sends the request; the body goes to stdout, the status to stderr; non-2xx exits non-zero.
pub(crate) async fn run(args: &ProfileArgs, cache: &CacheArgs, spec: RequestSpec<'_>) -> CliResult {
    let profile = config::resolve(args)?;
    let url = tokenbroker::wire::https::parse_secure_url_allowing(
        spec.url,
        "URL",
        profile.client.plain_http_hosts(),
    )?;
    let method = Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::usage(format!("-X {:?} is not an HTTP method", spec.method)))?;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(profile.middleware_sharing(token_cache(cache, &profile.client))?)
        .build();
    let mut request = client.request(method, url);
    for header in spec.headers {
        let (name, value) = parse_header(header)?;
        request = request.header(name, value);
    }
    if let Some(data) = spec.data {
        request = request.body(body(data)?);
    }
    let response = request.send().await.map_err(|e| match e {
        reqwest_middleware::Error::Middleware(inner) => {
            match inner.downcast::<tokenbroker::Error>() {
                Ok(error) => CliError::from(error),
                Err(other) => CliError::failure(other.to_string()),
            }
        }
        reqwest_middleware::Error::Reqwest(error) => {
            CliError::failure(format!("request to {} failed: {error}", spec.url))
        }
    })?;
    let status = response.status();
    eprintln!("HTTP {status}");
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CliError::failure(format!("reading the response body failed: {e}")))?;
    std::io::stdout()
        .write_all(&bytes)
        .map_err(|e| CliError::failure(format!("writing to stdout failed: {e}")))?;
    if status.is_success() {
        return Ok(());
    }
    let code = if status.is_client_error() {
        REJECTED
    } else {
        FAILURE
    };
    Err(CliError {
        code,
        message: format!("the API answered HTTP {status}"),
    })
}

fn parse_header(header: &str) -> CliResult<(HeaderName, HeaderValue)> {
    let bad = || CliError::usage(format!("-H {header:?} is not a header: use 'Name: value'"));
    let (name, value) = header.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    Ok((name, value))
}

fn body(data: &str) -> CliResult<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::usage(format!("cannot read the body from stdin: {e}")))?;
            Ok(bytes)
        }
        Some(path) => std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read body file {path}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}
