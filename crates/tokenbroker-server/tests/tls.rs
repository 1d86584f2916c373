//! HTTPS with rustls, the plain-HTTP redirect listener (Entur partner authentication: 301 for GET, 405 otherwise),
//! and the refusal to serve plain HTTP on a non-loopback address.

use std::path::Path;

use tokenbroker_server::{AuthServer, ServeError, ServerConfig, TlsFiles};

/// A self-signed certificate for 127.0.0.1 and localhost, written to `dir`.
fn certificate(dir: &Path) -> (TlsFiles, reqwest::Certificate) {
    let certificate = tokenbroker_testkit::self_signed(dir);
    let trusted = reqwest::Certificate::from_pem(certificate.cert_pem.as_bytes()).unwrap();
    let files = TlsFiles {
        cert: certificate.cert,
        key: certificate.key,
    };
    (files, trusted)
}

#[tokio::test]
async fn serves_https_and_redirects_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (files, root) = certificate(dir.path());
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls = Some(files);
    config.http_redirect = Some("127.0.0.1:0".parse().unwrap());
    let server = AuthServer::start(config).await.unwrap();
    let https = format!("https://127.0.0.1:{}", server.addr().port());
    assert_eq!(
        server.issuer(),
        https,
        "the default issuer follows the scheme"
    );

    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata: serde_json::Value = client
        .get(format!("{https}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["token_endpoint"], format!("{https}/oauth2/token"));

    let plain = format!(
        "http://127.0.0.1:{}",
        server.redirect_addr().unwrap().port()
    );
    let get = client
        .get(format!("{plain}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 301);
    assert_eq!(
        get.headers()["location"],
        format!("{https}/.well-known/jwks.json")
    );
    let post = client
        .post(format!("{plain}/oauth2/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert!(post.text().await.unwrap().contains("HTTPS"));
    server.stop().await;
}

#[tokio::test]
async fn refuses_plain_http_beyond_loopback_and_bad_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "0.0.0.0:0".parse().unwrap();
    let error = AuthServer::start(config.clone()).await.err().unwrap();
    assert!(matches!(error, ServeError::PlainHttpBeyondLoopback { .. }));
    assert!(error.is_configuration());
    assert!(error.to_string().contains("TLS certificate"), "{error}");

    config.listen = "127.0.0.1:0".parse().unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    config.tls = Some(TlsFiles {
        cert: dir.path().join("junk.pem"),
        key: dir.path().join("junk.pem"),
    });
    let error = AuthServer::start(config).await.err().unwrap();
    assert!(error.to_string().contains("junk.pem"), "{error}");
}

/// Under TLS the portal's session cookie is `Secure` with the `__Host-` prefix (only this host,
/// only HTTPS, the whole path), and only that name is honoured.
#[tokio::test]
async fn under_tls_the_portal_cookie_is_secure_with_the_host_prefix() {
    use secrecy::SecretString;
    use tokenbroker_server::registry::{NewAdmin, Role};
    let dir = tempfile::tempdir().unwrap();
    let (files, root) = certificate(dir.path());
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls = Some(files);
    let server = AuthServer::start(config).await.unwrap();
    let password = "a password for tls";
    let admin = NewAdmin {
        name: "alice".into(),
        roles: vec![Role::Viewer],
        token_expires_in: None,
        password: Some(SecretString::from(password)),
    };
    server.registry().add_admin(&admin, "test").await.unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let https = format!("https://127.0.0.1:{}", server.addr().port());
    let login = client
        .post(format!("{https}/portal/login"))
        .form(&[("name", "alice"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-tokenbroker-portal="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain"),
        "__Host- cookies carry no Domain: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let page = |cookie: String| {
        let request = client
            .get(format!("{https}/portal/clients"))
            .header("cookie", cookie);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(page(pair.to_owned()).await, 200);
    let unprefixed = pair.replacen("__Host-", "", 1);
    assert_eq!(
        page(unprefixed).await,
        303,
        "the plain-HTTP name is not honoured"
    );
}
