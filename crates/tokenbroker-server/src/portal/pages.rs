//! The portal's pages: one handler per page or form. Every change goes through the same
//! registry methods as the admin API and the CLI, and is audited as `admin:<name>`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use secrecy::SecretString;
use serde::Deserialize;

use super::session::{
    check_same_origin, presented_session, removal_cookie, session_cookie, NoFields, PortalError,
    PortalSession, Posted,
};
use super::views::{
    path_segment, AuditPage, ClientFormView, ClientPage, ClientView, ClientsPage,
    ConfirmDeletePage, EventView, FilterView, Layout, LoginPage, NewClientPage, SecretShownPage,
    SecretView,
};
use super::{render, CLIENTS_PATH, LOGIN_PATH};
use crate::client_address::ClientAddress;
use crate::limiter::{Attempt, Realm};
use crate::registry::{
    actions, AuditFilter, ClientChanges, ClientRecord, NewClient, RegistryError, MAX_SECRET_OVERLAP,
};
use crate::state::AppState;

type PageResult = Result<Response, PortalError>;

/// The most audit events one page shows.
const AUDIT_PAGE_EVENTS: usize = 500;
/// The most events of one client shown on its page.
const CLIENT_PAGE_EVENTS: usize = 100;

/// `GET /portal`: the clients page, or the login page first.
pub(super) async fn home() -> Redirect {
    Redirect::to(CLIENTS_PATH)
}

/// `GET /portal/login`.
pub(super) async fn login_page() -> Response {
    login_form(String::new(), None, StatusCode::OK)
}

fn login_form(name: String, problem: Option<String>, status: StatusCode) -> Response {
    let layout = Layout {
        title: "Log in".into(),
        ..Layout::default()
    };
    (
        status,
        render(&LoginPage {
            layout,
            name,
            problem,
        }),
    )
        .into_response()
}

/// What the login form sends.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /portal/login`: a session cookie on success; failures are rate-limited per address and
/// name, audited, and answered alike whatever was wrong.
pub(super) async fn log_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    check_same_origin(&headers)?;
    let name: String = form.name.trim().chars().take(100).collect();
    let password = SecretString::from(form.password);
    let names = [name.as_str()];
    let attempt = Attempt {
        realm: Realm::Admin,
        address,
        client_ids: &names,
    };
    if let Err(wait) = state.limits.check(&attempt).await {
        let problem = format!(
            "Too many failed logins; try again in {} s.",
            wait.as_secs().max(1)
        );
        return Ok(login_form(
            name,
            Some(problem),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let from = address.to_string();
    match state.registry.log_in(&name, &password, &from).await {
        Ok(Some((id, _session))) => {
            state.limits.succeeded(&attempt, &name).await;
            let mut response = Redirect::to(CLIENTS_PATH).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&id, state.portal_cookies_secure),
            );
            Ok(response)
        }
        Ok(None) => {
            state.limits.failed(&attempt).await;
            if let Err(error) = state.registry.record_refused_login(&name, &from).await {
                tracing::warn!(%error, "could not audit a refused portal login");
            }
            Ok(login_form(
                name,
                Some("The name or password is wrong.".into()),
                StatusCode::UNAUTHORIZED,
            ))
        }
        Err(error) => Err(PortalError::unavailable(error)),
    }
}

/// `POST /portal/logout`: ends the session everywhere and removes the cookie.
pub(super) async fn log_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    posted: Posted<NoFields>,
) -> PageResult {
    let actor = posted.session.0.admin.actor();
    if let Some(id) = presented_session(&headers, state.portal_cookies_secure) {
        state
            .registry
            .end_session(&id, &actor)
            .await
            .map_err(PortalError::unavailable)?;
    }
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        removal_cookie(state.portal_cookies_secure),
    );
    Ok(response)
}

/// `GET /portal/clients`.
pub(super) async fn clients(
    State(state): State<Arc<AppState>>,
    session: PortalSession,
) -> PageResult {
    let mut clients = state
        .registry
        .list_clients()
        .await
        .map_err(PortalError::unavailable)?;
    // People look clients up by name.
    clients.sort_by_cached_key(|client| client.name.to_lowercase());
    let now = state.unix_now();
    let page = ClientsPage {
        layout: session.layout("Clients"),
        can_change: session.can_change(),
        rows: clients
            .iter()
            .map(|client| ClientView::of(client, now))
            .collect(),
    };
    Ok(render(&page).into_response())
}

/// `GET /portal/clients/new` (client-admin).
pub(super) async fn new_client_page(
    State(state): State<Arc<AppState>>,
    session: PortalSession,
) -> PageResult {
    session.require_client_admin()?;
    let form = ClientFormView {
        default_lifetime: state.default_lifetime().as_secs(),
        ..ClientFormView::default()
    };
    Ok(new_client_form(&session, form, None, StatusCode::OK))
}

fn new_client_form(
    session: &PortalSession,
    form: ClientFormView,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let page = NewClientPage {
        layout: session.layout("New client"),
        csrf: session.0.csrf_token.clone(),
        form,
        problem,
    };
    (status, render(&page)).into_response()
}

/// What the new-client and edit forms send.
#[derive(Deserialize)]
pub(super) struct ClientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    audiences: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    lifetime: String,
    /// A checked box sends `on`; an unchecked one sends nothing.
    refresh_tokens: Option<String>,
}

impl ClientForm {
    /// The form's values, to show again next to a problem.
    fn view(&self, default_lifetime: Duration) -> ClientFormView {
        ClientFormView {
            name: self.name.clone(),
            audiences: self.audiences.clone(),
            scopes: self.scopes.clone(),
            lifetime: self.lifetime.clone(),
            refresh_tokens: self.refresh_tokens.is_some(),
            default_lifetime: default_lifetime.as_secs(),
        }
    }

    /// The token lifetime: empty means the server's default.
    fn lifetime(&self) -> Result<Option<Duration>, String> {
        let text = self.lifetime.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<u64>()
            .map(|seconds| Some(Duration::from_secs(seconds)))
            .map_err(|_| "The token lifetime must be a whole number of seconds.".to_owned())
    }

    fn audiences(&self) -> Vec<String> {
        self.audiences
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn scopes(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_owned).collect()
    }
}

/// `POST /portal/clients/new` (client-admin): the new client's id and secret, shown once in
/// this response and nowhere else.
pub(super) async fn create_client(
    State(state): State<Arc<AppState>>,
    Posted { session, form }: Posted<ClientForm>,
) -> PageResult {
    session.require_client_admin()?;
    let default_lifetime = state.default_lifetime();
    let refused = |problem: String| {
        Ok(new_client_form(
            &session,
            form.view(default_lifetime),
            Some(problem),
            StatusCode::BAD_REQUEST,
        ))
    };
    let lifetime = match form.lifetime() {
        Ok(lifetime) => lifetime,
        Err(problem) => return refused(problem),
    };
    let new = NewClient {
        name: form.name.trim().to_owned(),
        audiences: form.audiences(),
        scopes: form.scopes(),
        lifetime,
        refresh_tokens: form.refresh_tokens.is_some(),
        ..NewClient::default()
    };
    let actor = session.0.admin.actor();
    match state.registry.create_client(new, &actor).await {
        Ok((client, issued)) => Ok(render(&SecretShownPage {
            layout: session.layout("Client created"),
            path_id: path_segment(&client.client_id),
            client_id: client.client_id,
            client_secret: issued.client_secret,
            previous_until: None,
        })
        .into_response()),
        Err(RegistryError::Invalid(problem)) => refused(sentence(&problem)),
        Err(error) => Err(PortalError::unavailable(error)),
    }
}

/// Which notice a page shows after a redirect: only these fixed texts, never text from the URL.
#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

fn notice(query: &NoticeQuery) -> Option<&'static str> {
    match query.notice.as_deref()? {
        "saved" => Some("Saved."),
        "disabled" => Some("Disabled: the client gets no new tokens until it is enabled."),
        "enabled" => Some("Enabled: the client may get tokens again."),
        "deleted" => Some("Deleted."),
        _ => None,
    }
}

/// `GET /portal/clients/{id}`.
pub(super) async fn client_page(
    State(state): State<Arc<AppState>>,
    session: PortalSession,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let client = find(&state, &id).await?;
    let form = ClientFormView::of(&client, state.default_lifetime());
    let mut page = client_view(&state, &session, &client, form, None).await?;
    page.layout.notice = notice(&query);
    Ok(render(&page).into_response())
}

async fn client_view(
    state: &AppState,
    session: &PortalSession,
    client: &ClientRecord,
    form: ClientFormView,
    problem: Option<String>,
) -> Result<ClientPage, PortalError> {
    let now = state.unix_now();
    let filter = AuditFilter {
        client_id: Some(client.client_id.clone()),
        ..AuditFilter::default()
    };
    let (events, _) = state
        .registry
        .audit_events(&filter, CLIENT_PAGE_EVENTS)
        .await
        .map_err(PortalError::unavailable)?;
    Ok(ClientPage {
        layout: session.layout(client.name.clone()),
        csrf: session.0.csrf_token.clone(),
        can_change: session.can_change(),
        client: ClientView::of(client, now),
        secrets: client
            .secrets
            .iter()
            .map(|s| SecretView::of(s, now))
            .collect(),
        form,
        problem,
        events: events.iter().map(EventView::of).collect(),
    })
}

async fn find(state: &AppState, id: &str) -> Result<ClientRecord, PortalError> {
    match state.registry.find_client(id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(PortalError::problem(
            StatusCode::NOT_FOUND,
            "There is no client with this id.",
        )),
        Err(error) => Err(PortalError::unavailable(error)),
    }
}

/// `POST /portal/clients/{id}/edit` (client-admin).
pub(super) async fn update_client(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted<ClientForm>,
) -> PageResult {
    session.require_client_admin()?;
    let client = find(&state, &id).await?;
    let refused = |problem: String| async {
        let view = form.view(state.default_lifetime());
        let page = client_view(&state, &session, &client, view, Some(problem)).await?;
        Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
    };
    let lifetime = match form.lifetime() {
        Ok(lifetime) => lifetime,
        Err(problem) => return refused(problem).await,
    };
    let changes = ClientChanges {
        name: Some(form.name.trim().to_owned()),
        audiences: Some(form.audiences()),
        scopes: Some(form.scopes()),
        lifetime: Some(lifetime),
        refresh_tokens: Some(form.refresh_tokens.is_some()),
        introspect: None,
    };
    let actor = session.0.admin.actor();
    match state.registry.update_client(&id, &changes, &actor).await {
        Ok(_) => Ok(back_to(&id, "saved")),
        Err(RegistryError::Invalid(problem)) => refused(sentence(&problem)).await,
        Err(error) => Err(registry_refusal(error)),
    }
}

/// What the rotation form sends.
#[derive(Deserialize)]
pub(super) struct RotateForm {
    #[serde(default)]
    overlap_hours: String,
}

/// `POST /portal/clients/{id}/rotate` (client-admin): the new secret, shown once.
pub(super) async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted<RotateForm>,
) -> PageResult {
    session.require_client_admin()?;
    let max_hours = MAX_SECRET_OVERLAP.as_secs() / 3_600;
    let hours = form
        .overlap_hours
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|hours| *hours <= max_hours)
        .ok_or_else(|| {
            PortalError::problem(
                StatusCode::BAD_REQUEST,
                format!("The overlap must be a whole number of hours from 0 to {max_hours}."),
            )
        })?;
    let actor = session.0.admin.actor();
    let issued = state
        .registry
        .rotate_secret(&id, Duration::from_secs(hours * 3_600), &actor)
        .await
        .map_err(registry_refusal)?;
    Ok(render(&SecretShownPage {
        layout: session.layout("Secret rotated"),
        path_id: path_segment(&issued.client_id),
        previous_until: issued.previous_expires_at.map(super::views::iso),
        client_id: issued.client_id,
        client_secret: issued.client_secret,
    })
    .into_response())
}

/// `POST /portal/clients/{id}/disable` (client-admin).
pub(super) async fn disable_client(
    state: State<Arc<AppState>>,
    path: Path<String>,
    posted: Posted<NoFields>,
) -> PageResult {
    set_enabled(state, path, posted, false).await
}

/// `POST /portal/clients/{id}/enable` (client-admin).
pub(super) async fn enable_client(
    state: State<Arc<AppState>>,
    path: Path<String>,
    posted: Posted<NoFields>,
) -> PageResult {
    set_enabled(state, path, posted, true).await
}

async fn set_enabled(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { session, .. }: Posted<NoFields>,
    enabled: bool,
) -> PageResult {
    session.require_client_admin()?;
    let actor = session.0.admin.actor();
    state
        .registry
        .set_enabled(&id, enabled, &actor)
        .await
        .map_err(registry_refusal)?;
    Ok(back_to(&id, if enabled { "enabled" } else { "disabled" }))
}

/// What the delete form sends: `confirm=yes` from the confirmation page.
#[derive(Deserialize)]
pub(super) struct DeleteForm {
    confirm: Option<String>,
}

/// `POST /portal/clients/{id}/delete` (client-admin): asks first, deletes on confirmation.
pub(super) async fn delete_client(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted<DeleteForm>,
) -> PageResult {
    session.require_client_admin()?;
    let client = find(&state, &id).await?;
    if form.confirm.as_deref() != Some("yes") {
        return Ok(render(&ConfirmDeletePage {
            layout: session.layout(format!("Delete {}?", client.name)),
            csrf: session.0.csrf_token.clone(),
            path_id: path_segment(&client.client_id),
            name: client.name,
            client_id: client.client_id,
        })
        .into_response());
    }
    let actor = session.0.admin.actor();
    state
        .registry
        .delete_client(&id, &actor)
        .await
        .map_err(registry_refusal)?;
    Ok(Redirect::to(&format!("{CLIENTS_PATH}?notice=deleted")).into_response())
}

/// The audit page's filter, as the query string carries it.
#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    #[serde(default)]
    client: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

/// `GET /portal/audit`: the newest events matching the filter.
pub(super) async fn audit(
    State(state): State<Arc<AppState>>,
    session: PortalSession,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let given = |text: &str| {
        Some(text.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let mut problem = None;
    let mut day = |text: &str, what: &str, shift: i64| match given(text) {
        None => None,
        Some(text) => match day_start(&text) {
            Some(start) => Some(start + shift),
            None => {
                problem = Some(format!("{what} must be a date like 2026-12-03."));
                None
            }
        },
    };
    let since = day(&query.since, "From", 0);
    let until = day(&query.until, "To", 86_400);
    let action = given(&query.action).filter(|a| actions::ALL.contains(&a.as_str()));
    let filter = AuditFilter {
        client_id: given(&query.client),
        actor: given(&query.actor),
        action,
        since,
        until,
    };
    let (events, more) = state
        .registry
        .audit_events(&filter, AUDIT_PAGE_EVENTS)
        .await
        .map_err(PortalError::unavailable)?;
    let summary = match (events.len(), more) {
        (0, _) => "No events match.".to_owned(),
        (n, false) => format!("{n} events, newest first."),
        (n, true) => {
            format!("The newest {n} matching events; narrow the filter to see older ones.")
        }
    };
    let page = AuditPage {
        layout: session.layout("Audit log"),
        filter: FilterView {
            client: query.client,
            actor: query.actor,
            action: query.action,
            since: query.since,
            until: query.until,
        },
        actions: actions::ALL,
        summary,
        problem,
        events: events.iter().map(EventView::of).collect(),
    };
    Ok(render(&page).into_response())
}

/// The start of a UTC day `YYYY-MM-DD`, Unix seconds.
fn day_start(text: &str) -> Option<i64> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    let time = humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok()?;
    let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}

fn back_to(id: &str, notice: &str) -> Response {
    Redirect::to(&format!(
        "{CLIENTS_PATH}/{}?notice={notice}",
        path_segment(id)
    ))
    .into_response()
}

fn registry_refusal(error: RegistryError) -> PortalError {
    match error {
        RegistryError::UnknownClient(_) => {
            PortalError::problem(StatusCode::NOT_FOUND, "There is no client with this id.")
        }
        RegistryError::Invalid(problem) => {
            PortalError::problem(StatusCode::BAD_REQUEST, sentence(&problem))
        }
        error => PortalError::unavailable(error),
    }
}

/// A registry message as a sentence.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start("2026-12-03"), Some(1_796_256_000));
        for bad in ["2026-1-03", "2026-13-01", "03-12-2026", "", "2026-12-03T00"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
