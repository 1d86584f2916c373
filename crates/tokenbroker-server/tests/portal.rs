//! The partner portal over real HTTP, as a browser without JavaScript uses it: forms, cookies,
//! redirects. (The same journeys in a real headless Chromium are in the e2e crate.)

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use secrecy::SecretString;
use serde_json::Value;
use tokenbroker_server::registry::{actions, NewAdmin, Role, SESSION_IDLE};
use tokenbroker_server::{AuthServer, ServerConfig};
use tokenbroker_wire::ManualClock;

const AUDIENCE: &str = "https://api.dev.entur.io";
const PASSWORD: &str = "correct horse battery staple";

/// A browser: one cookie, no JavaScript, redirects not followed (each is checked).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    /// The anti-forgery token of the page's forms.
    fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").expect("a form with a csrf field")
    }

    fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

impl Browser {
    fn new(server: &AuthServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: server.url(),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        Self::page(request.send().await.unwrap()).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let page = Self::page(request.send().await.unwrap()).await;
        if let Some(set) = page.headers.get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        page
    }

    async fn page(response: reqwest::Response) -> Page {
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn log_in(&mut self, name: &str, password: &str) -> Page {
        self.post("/portal/login", &[("name", name), ("password", password)])
            .await
    }
}

async fn admin_with_password(server: &AuthServer, name: &str, role: Role) {
    server
        .registry()
        .add_admin(
            &NewAdmin {
                name: name.into(),
                roles: vec![role],
                token_expires_in: None,
                password: Some(SecretString::from(PASSWORD)),
            },
            "operator",
        )
        .await
        .unwrap();
}

async fn token(server: &AuthServer, id: &str, secret: &str) -> (u16, Value) {
    let response = tokenbroker_testkit::request_token(&server.url(), id, secret).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn created(page: &Page) -> (String, String) {
    let value = |label: &str| {
        between(&page.body, &format!("aria-label=\"{label}\">"), "<")
            .unwrap_or_else(|| panic!("no {label} on the page: {}", page.body))
    };
    (value("Client ID"), value("Client secret"))
}

#[tokio::test]
async fn a_client_admin_creates_edits_rotates_disables_and_deletes_a_client() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    admin_with_password(&server, "alice", Role::ClientAdmin).await;
    let mut browser = Browser::new(&server);

    // Not logged in: every page sends the browser to the login form.
    let anonymous = browser.get("/portal/clients").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location(), "/portal/login");
    let login = browser.get("/portal/login").await;
    assert!(login.body.contains("<label for=\"name\">Name</label>"));
    assert!(login
        .body
        .contains("<button type=\"submit\">Log in</button>"));

    let logged_in = browser.log_in("alice", PASSWORD).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let cookie = logged_in.headers[SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-HTTP loopback: {cookie}");

    let clients = browser.get("/portal/clients").await;
    assert_eq!(clients.status, 200);
    let policy = clients.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(clients.headers["cache-control"], "no-store");
    assert!(clients.body.contains(">New client</a>"));
    let gzipped = browser
        .http
        .get(format!("{}/portal/clients", browser.base))
        .header(COOKIE, browser.cookie.clone().unwrap())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");

    // Create: the id and secret are on this response only, and the secret works.
    let form = browser.get("/portal/clients/new").await;
    let csrf = form.csrf();
    let page = browser
        .post(
            "/portal/clients/new",
            &[
                ("csrf", &csrf),
                ("name", "Route planner"),
                ("audiences", AUDIENCE),
                ("scopes", "personalisation:read"),
                ("lifetime", "600"),
                ("refresh_tokens", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (id, secret) = created(&page);
    let (status, issued) = token(&server, &id, &secret).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["scope"], "personalisation:read");
    assert_eq!(issued["expires_in"], 600);
    assert!(issued["refresh_token"].is_string());

    // The secret appears nowhere afterwards.
    let client_path = format!("/portal/clients/{id}");
    for path in ["/portal/clients", client_path.as_str(), "/portal/audit"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(&secret), "{path} shows the secret");
    }
    assert!(browser
        .get(&client_path)
        .await
        .body
        .contains("Route planner"));

    // Edit: the next token carries the new scopes and lifetime.
    let csrf = browser.get(&client_path).await.csrf();
    let saved = browser
        .post(
            &format!("{client_path}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "Route planner"),
                ("audiences", AUDIENCE),
                ("scopes", "personalisation:read personalisation:write"),
                ("lifetime", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(browser.get(saved.location()).await.body.contains("Saved."));
    let (_, issued) = token(&server, &id, &secret).await;
    assert_eq!(
        issued["scope"],
        "personalisation:read personalisation:write"
    );
    assert!(issued["refresh_token"].is_null(), "the box was unchecked");
    assert_eq!(
        issued["expires_in"],
        tokenbroker_server::IN_MEMORY_LIFETIME.as_secs(),
        "the server's default again"
    );

    // A refused edit shows the problem and keeps what was typed.
    let refused = browser
        .post(
            &format!("{client_path}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "Route planner"),
                ("audiences", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("at least one audience"),
        "{}",
        refused.body
    );

    // Rotate: the new secret is shown once; both work during the overlap.
    let rotated = browser
        .post(
            &format!("{client_path}/rotate"),
            &[("csrf", &csrf), ("overlap_hours", "1")],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let (_, new_secret) = created(&rotated);
    assert_ne!(new_secret, secret);
    assert_eq!(token(&server, &id, &secret).await.0, 200);
    assert_eq!(token(&server, &id, &new_secret).await.0, 200);

    // Disable: the token endpoint refuses; enable again.
    let disabled = browser
        .post(&format!("{client_path}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(disabled.status, 303);
    let (status, refusal) = token(&server, &id, &new_secret).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    browser
        .post(&format!("{client_path}/enable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(token(&server, &id, &new_secret).await.0, 200);

    // Delete asks first, then deletes.
    let asked = browser
        .post(&format!("{client_path}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("name=\"confirm\" value=\"yes\""));
    assert!(server.registry().find_client(&id).await.unwrap().is_some());
    let deleted = browser
        .post(
            &format!("{client_path}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert!(server.registry().find_client(&id).await.unwrap().is_none());

    // Every change is audited under the administrator's name, with no secret in it.
    let audit = server.registry().audit_log(Some(&id)).await.unwrap();
    let kinds: Vec<_> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        kinds,
        [
            actions::CLIENT_CREATE,
            actions::CLIENT_UPDATE,
            actions::SECRET_ROTATE,
            actions::CLIENT_DISABLE,
            actions::CLIENT_ENABLE,
            actions::CLIENT_DELETE
        ]
    );
    assert!(audit.iter().all(|e| e.actor == "admin:alice"));
    let filtered = browser
        .get(&format!("/portal/audit?client={id}&action=client.update"))
        .await;
    assert!(filtered.body.contains("1 events"), "{}", filtered.body);
    assert!(!filtered.body.contains(&secret) && !filtered.body.contains(&new_secret));
}

#[tokio::test]
async fn forms_without_the_token_or_from_elsewhere_and_viewers_changes_are_refused() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    admin_with_password(&server, "alice", Role::ClientAdmin).await;
    admin_with_password(&server, "victor", Role::Viewer).await;
    let (client, _) = server
        .registry()
        .create_client(
            tokenbroker_server::registry::NewClient {
                name: "Timetable".into(),
                audiences: vec![AUDIENCE.into()],
                ..Default::default()
            },
            "operator",
        )
        .await
        .unwrap();
    let disable = format!("/portal/clients/{}/disable", client.client_id);

    let mut alice = Browser::new(&server);
    alice.log_in("alice", PASSWORD).await;
    let no_token = alice.post(&disable, &[]).await;
    assert_eq!(no_token.status, 403);
    let wrong_token = alice.post(&disable, &[("csrf", "0000")]).await;
    assert_eq!(wrong_token.status, 403);
    let csrf = alice.get("/portal/clients").await.csrf();
    let elsewhere = alice
        .http
        .post(format!("{}{disable}", alice.base))
        .header(COOKIE, alice.cookie.clone().unwrap())
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(
        server
            .registry()
            .client(&client.client_id)
            .await
            .unwrap()
            .enabled
    );

    // A viewer sees the pages without any control that changes something…
    let mut victor = Browser::new(&server);
    victor.log_in("victor", PASSWORD).await;
    let list = victor.get("/portal/clients").await;
    assert!(!list.body.contains("New client"));
    let page = victor
        .get(&format!("/portal/clients/{}", client.client_id))
        .await;
    assert_eq!(page.status, 200);
    for control in ["Rotate secret", "Disable", "Delete", ">Save<"] {
        assert!(!page.body.contains(control), "a viewer sees {control}");
    }
    assert_eq!(victor.get("/portal/clients/new").await.status, 403);
    // …and a forged form from a viewer's session, with its own valid token, is refused.
    let csrf = page.csrf();
    let forged = victor.post(&disable, &[("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
    let forged_create = victor
        .post(
            "/portal/clients/new",
            &[("csrf", &csrf), ("name", "x"), ("audiences", AUDIENCE)],
        )
        .await;
    assert_eq!(forged_create.status, 403);
    assert!(
        server
            .registry()
            .client(&client.client_id)
            .await
            .unwrap()
            .enabled
    );
    assert_eq!(server.registry().list_clients().await.unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_passwords_are_refused_audited_and_limited_and_logout_ends_the_session() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    admin_with_password(&server, "alice", Role::ClientAdmin).await;
    let mut browser = Browser::new(&server);

    let refused = browser.log_in("alice", "not the password").await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("The name or password is wrong."));
    assert!(!refused.body.contains("not the password"));
    assert!(refused.headers.get(SET_COOKIE).is_none());
    let unknown = browser.log_in("mallory", "whatever-password").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("The name or password is wrong."));
    let audit = server.registry().audit_log(None).await.unwrap();
    let refusals: Vec<_> = audit
        .iter()
        .filter(|e| e.action == actions::ADMIN_LOGIN_REFUSED)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals[0].contains("\"alice\"") && refusals[0].contains("127.0.0.1"));
    assert!(refusals.iter().all(|d| !d.contains("not the password")));

    // Guessing one name from one address stops (10 per minute), the right password included.
    for _ in 0..9 {
        browser.log_in("alice", "still not it").await;
    }
    let limited = browser.log_in("alice", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);

    // Another name from the same address still logs in; logout ends that session.
    admin_with_password(&server, "bob", Role::Viewer).await;
    assert_eq!(browser.log_in("bob", PASSWORD).await.status, 303);
    let session = browser.cookie.clone().unwrap();
    assert_eq!(browser.get("/portal/clients").await.status, 200);
    let csrf = browser.get("/portal/clients").await.csrf();
    let out = browser.post("/portal/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    browser.cookie = Some(session);
    assert_eq!(
        browser.get("/portal/clients").await.status,
        303,
        "the old cookie is dead"
    );
    let kinds: Vec<_> = server
        .registry()
        .audit_log(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(kinds.iter().any(|k| k == actions::ADMIN_LOGIN));
    assert!(kinds.iter().any(|k| k == actions::ADMIN_LOGOUT));
}

#[tokio::test]
async fn sessions_end_when_idle_when_old_and_when_the_administrator_is_revoked() {
    let clock = Arc::new(ManualClock::starting_now());
    let mut config = ServerConfig::in_memory([]);
    config.clock = clock.clone();
    let server = AuthServer::start(config).await.unwrap();
    admin_with_password(&server, "alice", Role::ClientAdmin).await;
    let mut browser = Browser::new(&server);

    browser.log_in("alice", PASSWORD).await;
    clock.advance(SESSION_IDLE - Duration::from_secs(60));
    assert_eq!(
        browser.get("/portal/clients").await.status,
        200,
        "still active"
    );
    clock.advance(SESSION_IDLE - Duration::from_secs(60));
    assert_eq!(
        browser.get("/portal/clients").await.status,
        200,
        "kept alive by use"
    );
    clock.advance(SESSION_IDLE);
    assert_eq!(
        browser.get("/portal/clients").await.status,
        303,
        "idle too long"
    );

    // However busy, a session ends 12 hours after login.
    browser.log_in("alice", PASSWORD).await;
    for _ in 0..((12 * 60) / 20) {
        clock.advance(Duration::from_secs(20 * 60));
        if browser.get("/portal/clients").await.status != 200 {
            break;
        }
    }
    assert_eq!(
        browser.get("/portal/clients").await.status,
        303,
        "absolute expiry"
    );

    // Revoking the administrator ends its sessions at once.
    browser.log_in("alice", PASSWORD).await;
    assert_eq!(browser.get("/portal/clients").await.status, 200);
    server
        .registry()
        .revoke_admin("alice", "operator")
        .await
        .unwrap();
    assert_eq!(browser.get("/portal/clients").await.status, 303);
    assert_eq!(browser.log_in("alice", PASSWORD).await.status, 401);
}

#[tokio::test]
async fn the_audit_page_filters_by_client_administrator_action_and_day() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    admin_with_password(&server, "alice", Role::ClientAdmin).await;
    let registry = server.registry();
    let new = |name: &str| tokenbroker_server::registry::NewClient {
        name: name.into(),
        audiences: vec![AUDIENCE.into()],
        ..Default::default()
    };
    let (one, _) = registry
        .create_client(new("one"), "admin:alice")
        .await
        .unwrap();
    let (two, _) = registry
        .create_client(new("two"), "operator")
        .await
        .unwrap();
    registry
        .set_enabled(&two.client_id, false, "operator")
        .await
        .unwrap();
    let mut browser = Browser::new(&server);
    browser.log_in("alice", PASSWORD).await;
    let rows = |page: &Page| page.body.matches("<tr><td><time").count();

    let everything = browser.get("/portal/audit").await;
    assert_eq!(everything.status, 200);
    let by_client = browser
        .get(&format!("/portal/audit?client={}", two.client_id))
        .await;
    assert_eq!(rows(&by_client), 2, "{}", by_client.body);
    let by_actor = browser.get("/portal/audit?actor=admin%3Aalice").await;
    assert!(by_actor.body.contains(&one.client_id) && !by_actor.body.contains(&two.client_id));
    let by_action = browser.get("/portal/audit?action=client.disable").await;
    assert_eq!(rows(&by_action), 1);
    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let today = &today[..10];
    let from_today = browser
        .get(&format!("/portal/audit?since={today}&until={today}"))
        .await;
    assert!(rows(&from_today) >= 3, "{}", from_today.body);
    let before = browser.get("/portal/audit?until=2000-01-01").await;
    assert_eq!(rows(&before), 0);
    assert!(before.body.contains("No events match."));
    let bad_day = browser.get("/portal/audit?since=yesterday").await;
    assert_eq!(bad_day.status, 200);
    assert!(
        bad_day.body.contains("must be a date like"),
        "{}",
        bad_day.body
    );
    // Filter values are shown back escaped, never as markup.
    let hostile = browser
        .get("/portal/audit?client=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!hostile.body.contains("<script>alert(1)"));
    assert!(hostile.body.contains("&#60;script&#62;") || hostile.body.contains("&lt;script&gt;"));
}
