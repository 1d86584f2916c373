//! What a plain-HTTP listener answers when the API (or the authorization server) only speaks
//! HTTPS (Entur partner authentication):
//! "301/302 — attempts to connect with HTTP will end in a redirection", "405 — your BFF is trying
//! to connect via HTTP". GET and HEAD are redirected to the same path over HTTPS; other methods
//! get 405, since a redirected POST would be replayed without its body (or with its credentials).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::json;

/// A router answering every request with a redirect (GET/HEAD) or 405, towards `https_port`.
/// Serve it on the API's plain-HTTP port next to the HTTPS listener.
pub fn redirect_router(https_port: u16) -> Router {
    Router::new().fallback(any(
        move |method: Method, headers: HeaderMap, uri: Uri| async move {
            redirect(method, &headers, &uri, https_port)
        },
    ))
}

fn redirect(method: Method, headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let target = https_url(headers, uri, https_port);
    if method == Method::GET || method == Method::HEAD {
        let mut response = (
            StatusCode::MOVED_PERMANENTLY,
            format!("use HTTPS: {target}\n"),
        )
            .into_response();
        if let Ok(location) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return response;
    }
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({
            "error": "https_required",
            "error_description": format!("this service only accepts {method} over HTTPS: send it to {target}"),
        })),
    )
        .into_response()
}

fn https_url(headers: &HeaderMap, uri: &Uri, https_port: u16) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|authority| authority.host().to_owned())
        .unwrap_or_else(|| "localhost".to_owned());
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("https://{host}{port}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_redirects_and_post_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("api.example:8080"));
        let uri: Uri = "/personalisation/v1/programs/1?x=1".parse().unwrap();
        let get = redirect(Method::GET, &headers, &uri, 8443);
        assert_eq!(get.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            get.headers()[header::LOCATION],
            "https://api.example:8443/personalisation/v1/programs/1?x=1"
        );
        let post = redirect(Method::POST, &headers, &uri, 443);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(post.headers().get(header::LOCATION).is_none());
    }
}
