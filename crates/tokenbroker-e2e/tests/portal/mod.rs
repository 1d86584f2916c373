//! The partner portal in a real headless Chromium, driven over WebDriver the way an
//! administrator clicks through it: controls are found by their visible labels (what a screen
//! reader announces), and what the pages show is checked against the token endpoint.

use std::path::PathBuf;

use fantoccini::{Client, Locator};
use secrecy::SecretString;
use serde_json::Value;
use tokenbroker_server::registry::{actions, NewAdmin, NewClient, Role};
use tokenbroker_server::{AuthServer, ServerConfig};
use tokenbroker_testkit::ChromeDriver;

const AUDIENCE: &str = "https://api.dev.entur.io";
const PASSWORD: &str = "correct horse battery staple";

/// The input or text area a `<label>` with exactly this text names.
async fn field(browser: &Client, label: &str) -> fantoccini::elements::Element {
    let xpath = format!(
        "//*[(self::input or self::textarea) and @id=//label[normalize-space()='{label}']/@for]"
    );
    browser
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no field labelled {label:?}: {e}"))
}

async fn fill(browser: &Client, label: &str, text: &str) {
    let input = field(browser, label).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// Clicks the button with this text and waits for the page it leads to.
async fn click_button(browser: &Client, text: &str) {
    let xpath = format!("//button[normalize-space()='{text}']");
    let button = browser
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button {text:?}: {e}"));
    next_page(browser, || button.click()).await;
}

/// Does `act`, then waits until the page it was on is replaced (its root element goes stale).
async fn next_page<F, T>(browser: &Client, act: impl FnOnce() -> F)
where
    F: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    let old = browser.find(Locator::Css("html")).await.unwrap();
    act().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while old.tag_name().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not change in 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    browser
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .unwrap();
}

async fn has_button(browser: &Client, text: &str) -> bool {
    let xpath = format!("//button[normalize-space()='{text}']");
    !browser
        .find_all(Locator::XPath(&xpath))
        .await
        .unwrap()
        .is_empty()
}

async fn text_labelled(browser: &Client, aria_label: &str) -> String {
    browser
        .find(Locator::Css(&format!("[aria-label='{aria_label}']")))
        .await
        .unwrap_or_else(|e| panic!("nothing labelled {aria_label:?}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn page_text(browser: &Client) -> String {
    browser.source().await.unwrap()
}

/// What a screen reader and a keyboard need of every page: every control has an accessible
/// name (a label, an `aria-label`, or a button's text), one `h1` comes first and no heading level
/// is skipped, and nothing is taken out of the tab order.
const ACCESSIBILITY_PROBLEMS: &str = r#"
const problems = [];
for (const control of document.querySelectorAll("input:not([type=hidden]), textarea, select, button")) {
  const named = (control.labels && control.labels.length > 0)
    || control.getAttribute("aria-label")
    || (control.tagName === "BUTTON" && control.textContent.trim());
  if (!named) problems.push("unnamed " + control.outerHTML);
}
const levels = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map(h => +h.tagName[1]);
if (levels[0] !== 1 || levels.filter(l => l === 1).length !== 1) problems.push("h1: " + levels);
levels.forEach((level, i) => { if (i > 0 && level > levels[i - 1] + 1) problems.push("skipped: " + levels); });
for (const focusable of document.querySelectorAll("[tabindex]")) {
  if (focusable.tabIndex < 0) problems.push("out of tab order " + focusable.outerHTML);
}
return problems;
"#;

async fn assert_accessible(browser: &Client) {
    let problems = browser
        .execute(ACCESSIBILITY_PROBLEMS, vec![])
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    assert_eq!(problems, serde_json::json!([]), "{url}");
}

async fn log_in(browser: &Client, base: &str, name: &str, password: &str) {
    browser.goto(&format!("{base}/portal")).await.unwrap();
    fill(browser, "Name", name).await;
    fill(browser, "Password", password).await;
    click_button(browser, "Log in").await;
}

async fn token(server: &AuthServer, id: &str, secret: &str) -> (u16, Value) {
    let response = tokenbroker_testkit::request_token(&server.url(), id, secret).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Saves a screenshot under the test's target directory, and into `$TOKENBROKER_SCREENSHOTS`
/// when set (how the README's pictures are made).
async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")];
    dirs.extend(std::env::var_os("TOKENBROKER_SCREENSHOTS").map(PathBuf::from));
    for dir in dirs {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

async fn admin(server: &AuthServer, name: &str, role: Role) {
    let new = NewAdmin {
        name: name.into(),
        roles: vec![role],
        token_expires_in: None,
        password: Some(SecretString::from(PASSWORD)),
    };
    server.registry().add_admin(&new, "operator").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_clients_in_a_real_browser() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    admin(&server, "alice", Role::ClientAdmin).await;
    admin(&server, "victor", Role::Viewer).await;
    for (name, scopes) in [
        ("Departure boards", "journeys:read"),
        ("Ticket office", "sales:write sales:read"),
    ] {
        let new = NewClient {
            name: name.into(),
            audiences: vec![AUDIENCE.into()],
            scopes: scopes.split(' ').map(str::to_owned).collect(),
            ..NewClient::default()
        };
        server
            .registry()
            .create_client(new, "operator")
            .await
            .unwrap();
    }
    let base = server.url();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1280, 860).await;

    // A wrong password is refused, and audited.
    log_in(&browser, &base, "alice", "not the password").await;
    assert_accessible(&browser).await;
    let refused = page_text(&browser).await;
    assert!(
        refused.contains("The name or password is wrong."),
        "{refused}"
    );
    let audit = server.registry().audit_log(None).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == actions::ADMIN_LOGIN_REFUSED));

    // Log in, create a client, read its secret from the page.
    log_in(&browser, &base, "alice", PASSWORD).await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/portal/clients"));
    let link = browser.find(Locator::LinkText("New client")).await.unwrap();
    next_page(&browser, || link.click()).await;
    assert_accessible(&browser).await;
    fill(&browser, "Name", "Route planner").await;
    fill(&browser, "Audiences", AUDIENCE).await;
    fill(&browser, "Scopes", "personalisation:read").await;
    fill(&browser, "Token lifetime (seconds)", "3600").await;
    browser
        .find(Locator::XPath(
            "//label[normalize-space()='Refresh tokens']/input",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_button(&browser, "Create client").await;
    assert_accessible(&browser).await;
    let id = text_labelled(&browser, "Client ID").await;
    let secret = text_labelled(&browser, "Client secret").await;
    assert!(secret.len() >= 43, "a 256-bit secret");
    browser
        .execute(
            "document.querySelector(\"[aria-label='Client secret']\").style.filter = 'blur(6px)'",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&browser, "portal-new-client").await;

    // That client gets a token with that secret.
    let (status, issued) = token(&server, &id, &secret).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["scope"], "personalisation:read");
    assert!(issued["refresh_token"].is_string());

    // The secret appears nowhere afterwards.
    for path in [
        "/portal/clients".to_owned(),
        format!("/portal/clients/{id}"),
        "/portal/audit".to_owned(),
    ] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        assert!(
            !page_text(&browser).await.contains(&secret),
            "{path} shows the secret"
        );
    }
    browser
        .goto(&format!("{base}/portal/clients"))
        .await
        .unwrap();
    screenshot(&browser, "portal-clients").await;

    // Edit the scopes; a new token carries them.
    let link = browser
        .find(Locator::LinkText("Route planner"))
        .await
        .unwrap();
    next_page(&browser, || link.click()).await;
    fill(
        &browser,
        "Scopes",
        "personalisation:read personalisation:write",
    )
    .await;
    click_button(&browser, "Save").await;
    assert!(page_text(&browser).await.contains("Saved."));
    let (_, issued) = token(&server, &id, &secret).await;
    assert_eq!(
        issued["scope"],
        "personalisation:read personalisation:write"
    );

    // Rotate: the new secret is shown once, and both work during the overlap.
    click_button(&browser, "Rotate secret").await;
    let rotated = text_labelled(&browser, "Client secret").await;
    assert_ne!(rotated, secret);
    assert_eq!(token(&server, &id, &secret).await.0, 200);
    assert_eq!(token(&server, &id, &rotated).await.0, 200);

    // Disable: the token endpoint refuses the client; enable it again.
    browser
        .goto(&format!("{base}/portal/clients/{id}"))
        .await
        .unwrap();
    click_button(&browser, "Disable").await;
    let (status, refusal) = token(&server, &id, &rotated).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    click_button(&browser, "Enable").await;
    assert_eq!(token(&server, &id, &rotated).await.0, 200);

    // A form stripped of its anti-forgery token is refused.
    browser
        .execute(
            "document.querySelectorAll(\"input[name='csrf']\").forEach(e => e.remove())",
            vec![],
        )
        .await
        .unwrap();
    click_button(&browser, "Disable").await;
    assert!(page_text(&browser).await.contains("anti-forgery token"));
    assert!(server.registry().client(&id).await.unwrap().enabled);

    // Log out: the session is over.
    browser
        .goto(&format!("{base}/portal/clients"))
        .await
        .unwrap();
    click_button(&browser, "Log out").await;
    browser
        .goto(&format!("{base}/portal/clients"))
        .await
        .unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/portal/login"));

    // A viewer sees no control that changes anything, and a forged form is refused.
    log_in(&browser, &base, "victor", PASSWORD).await;
    browser
        .goto(&format!("{base}/portal/clients/{id}"))
        .await
        .unwrap();
    for control in ["Rotate secret", "Disable", "Enable", "Delete", "Save"] {
        assert!(
            !has_button(&browser, control).await,
            "a viewer sees {control:?}"
        );
    }
    assert!(browser
        .find_all(Locator::LinkText("New client"))
        .await
        .unwrap()
        .is_empty());
    let forge = format!(
        "const form = document.createElement('form');
         form.method = 'post';
         form.action = '/portal/clients/{id}/disable';
         const token = document.querySelector(\"input[name='csrf']\").cloneNode();
         form.appendChild(token);
         document.body.appendChild(form);
         form.submit();"
    );
    next_page(&browser, || browser.execute(&forge, vec![])).await;
    assert!(page_text(&browser).await.contains("viewer role"));
    assert!(server.registry().client(&id).await.unwrap().enabled);

    // Back as alice: delete, with confirmation.
    click_button(&browser, "Log out").await;
    log_in(&browser, &base, "alice", PASSWORD).await;
    browser
        .goto(&format!("{base}/portal/clients/{id}"))
        .await
        .unwrap();
    click_button(&browser, "Delete").await;
    assert!(page_text(&browser).await.contains("cannot be undone"));
    assert_accessible(&browser).await;
    click_button(&browser, "Delete").await;
    assert!(server.registry().find_client(&id).await.unwrap().is_none());
    assert_eq!(token(&server, &id, &rotated).await.0, 401);

    let audit = server.registry().audit_log(None).await.unwrap();
    assert!(audit
        .iter()
        .all(|e| !e.detail.contains(&secret) && !e.detail.contains(&rotated)));
    browser.close().await.unwrap();
}
