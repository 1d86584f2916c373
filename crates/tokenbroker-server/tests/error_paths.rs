//! Every token-endpoint error path, in both dialects: RFC 6749 §5.2 errors on the Entur and
//! standard paths, plus Telenor's numeric codes and statuses on its path (Telenor Norway client credentials grant).

use serde_json::Value;
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};

async fn server() -> AuthServer {
    let clients = [
        StaticClient::new("one", "one-secret", "https://api.a").with_scopes("read"),
        StaticClient::new("two", "two-secret", "https://api.a").with_audience("https://api.b"),
        StaticClient::new("off", "off-secret", "https://api.a"),
    ];
    let server = AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .unwrap();
    server
        .registry()
        .set_enabled("off", false, "test")
        .await
        .unwrap();
    server
}

struct Answer {
    status: u16,
    body: Value,
    challenge: Option<String>,
}

async fn post(
    server: &AuthServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.json().await.unwrap(),
    }
}

const CC: (&str, &str) = ("grant_type", "client_credentials");

/// One refusal: the request, and the Telenor-dialect status, RFC error and Telenor code expected.
struct Case {
    name: &'static str,
    basic: Option<(&'static str, &'static str)>,
    form: Vec<(&'static str, &'static str)>,
    telenor_status: u16,
    error: &'static str,
    code: Option<u64>,
}

#[tokio::test]
async fn each_refusal_has_its_rfc_error_and_telenor_code() {
    let server = server().await;
    let case =
        |name, basic, form: Vec<(&'static str, &'static str)>, telenor_status, error, code| Case {
            name,
            basic,
            form,
            telenor_status,
            error,
            code,
        };
    let one = Some(("one", "one-secret"));
    let cases = [
        case(
            "missing grant_type",
            one,
            vec![],
            400,
            "invalid_request",
            Some(2),
        ),
        case(
            "unsupported grant",
            one,
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
            Some(2),
        ),
        case(
            "no credentials",
            None,
            vec![CC],
            401,
            "invalid_client",
            Some(6),
        ),
        case(
            "unknown client",
            Some(("nobody", "x")),
            vec![CC],
            401,
            "invalid_client",
            Some(1),
        ),
        case(
            "wrong secret",
            Some(("one", "wrong")),
            vec![CC],
            401,
            "invalid_client",
            Some(22),
        ),
        case(
            "disabled client",
            Some(("off", "off-secret")),
            vec![CC],
            401,
            "unauthorized_client",
            Some(5),
        ),
        case(
            "scope not granted",
            one,
            vec![CC, ("scope", "write")],
            403,
            "invalid_scope",
            Some(8),
        ),
        case(
            "audience not granted",
            one,
            vec![CC, ("audience", "https://api.other")],
            400,
            "invalid_target",
            None,
        ),
        case(
            "audience needed",
            Some(("two", "two-secret")),
            vec![CC],
            400,
            "invalid_request",
            None,
        ),
        case(
            "two methods",
            one,
            vec![CC, ("client_id", "one"), ("client_secret", "one-secret")],
            400,
            "invalid_request",
            None,
        ),
    ];
    for Case {
        name: case,
        basic,
        form,
        telenor_status,
        error,
        code,
    } in cases
    {
        let telenor = post(&server, "/oauth/v2/token", basic, &form).await;
        assert_eq!(
            telenor.status, telenor_status,
            "{case} (Telenor): {}",
            telenor.body
        );
        assert_eq!(telenor.body["error"], error, "{case} (Telenor)");
        assert_eq!(telenor.body["code"].as_u64(), code, "{case} (Telenor code)");

        let rfc = post(&server, "/oauth/token", basic, &form).await;
        // RFC 6749 §5.2 answers invalid_scope and unauthorized_client with 400; Telenor's page
        // lists 403/8 and 401/5, and its dialect keeps them.
        let rfc_status = if error == "invalid_scope" || error == "unauthorized_client" {
            400
        } else {
            telenor_status
        };
        assert_eq!(rfc.status, rfc_status, "{case} (RFC): {}", rfc.body);
        assert_eq!(rfc.body["error"], error, "{case} (RFC)");
        assert!(
            rfc.body.get("code").is_none(),
            "{case}: no Telenor codes in the RFC dialect"
        );
        assert!(
            rfc.body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{case}"
        );

        // Every 401 names its scheme (RFC 9110 §11.6.1; RFC 6749 §5.2 for Basic), whatever
        // method the client used; other statuses do not.
        for (dialect, answer) in [("Telenor", &telenor), ("RFC", &rfc)] {
            assert_eq!(
                answer
                    .challenge
                    .as_deref()
                    .is_some_and(|c| c.starts_with("Basic")),
                answer.status == 401,
                "{case} ({dialect} challenge)"
            );
        }
    }
}
