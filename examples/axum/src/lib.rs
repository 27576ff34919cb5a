//! An example web app: enlist's invite, preview, accept and people list
//! over HTTP, with axum on tokio, an engine on SQLite reached through
//! [`AsyncEnlist`], and invitation emails written as `.eml` files.
//!
//! | method and path                 | who            | what                                   |
//! |---------------------------------|----------------|----------------------------------------|
//! | `POST /orgs`                    | any account    | create an organization, caller owns it |
//! | `POST /orgs/{org}/invitations`  | a member       | invite pasted addresses, mail them     |
//! | `POST /invitations/preview`     | anyone         | what an invitation offers (token in the body) |
//! | `POST /invitations/accept`      | any account    | accept (token in the body)             |
//! | `GET /orgs/{org}/people`        | a member       | the people list (members, invitations) |
//!
//! **Authentication is a stand-in.** The caller's account is the bearer
//! of `Authorization: Bearer <account>`, taken at its word: the host's
//! login (a session cookie, a verified JWT) goes there. The example maps
//! an account to its member id in each organization it created or
//! joined, in memory, as a host's user table would (a restart forgets
//! them).
//!
//! Secrets: tokens travel only in request bodies (never in a path or a
//! query, which end up in access logs) and in the emails; no response,
//! error body or log line carries one. Request bodies are bounded
//! ([`MAX_BODY_BYTES`], axum's `DefaultBodyLimit`).

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use enlist::{
    Actor, AsyncEnlist, Enlist, ErrorFamily, InviteRequest, MemberId, OrgId, PeopleQuery,
    Recipients, Registration,
};
use enlist_smtp::FileMailer;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// At most this many bytes in a request body (a paste of a few hundred
/// addresses); a larger body is refused with 413 before it is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// At most this many characters in an account (the bearer).
pub const MAX_ACCOUNT_CHARS: usize = 200;
/// At most this many emails sent right after one invite call.
const MAIL_BATCH: usize = 500;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    engine: AsyncEnlist,
    mailer: Arc<FileMailer>,
    /// (account, organization) -> the account's member id there.
    memberships: Arc<Mutex<HashMap<(String, OrgId), MemberId>>>,
}

impl AppState {
    /// The state over `engine`, mailing through `mailer`.
    pub fn new(engine: Enlist, mailer: FileMailer) -> enlist::Result<Self> {
        Ok(Self {
            // As many commands at once as SQLite can usefully run (one
            // writer at a time): a burst of requests waits in tokio, not
            // as hundreds of threads parked on the database lock.
            engine: AsyncEnlist::new(engine).with_max_concurrent(8)?,
            mailer: Arc::new(mailer),
            memberships: Arc::default(),
        })
    }

    fn remember(&self, account: &str, org: &OrgId, member: &MemberId) {
        self.memberships
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((account.to_owned(), org.clone()), member.clone());
    }

    /// The caller's member id in `org`: 403 when the account has none.
    fn actor(&self, account: &Account, org: &OrgId) -> Result<Actor, ApiError> {
        self.memberships
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(account.0.clone(), org.clone()))
            .map(|m| Actor::Member(m.clone()))
            .ok_or(ApiError::Status(
                StatusCode::FORBIDDEN,
                "not_a_member",
                "this account is not a member of the organization",
            ))
    }
}

/// The app's routes over `state`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/orgs", post(create_org))
        .route("/orgs/{org}/invitations", post(invite))
        .route("/orgs/{org}/people", get(people))
        .route("/invitations/preview", post(preview))
        .route("/invitations/accept", post(accept))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request on stderr: method, path and status. Paths never
/// hold a secret here (tokens go in bodies), and no body is logged.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    eprintln!("{method} {path} -> {}", response.status().as_u16());
    response
}

/// The caller's account, from `Authorization: Bearer <account>` (a
/// stand-in for the host's login). Missing or malformed: 401.
pub struct Account(String);

impl<S: Send + Sync> FromRequestParts<S> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let account = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|a| {
                !a.is_empty()
                    && a.len() <= MAX_ACCOUNT_CHARS
                    && a.bytes().all(|b| b.is_ascii_graphic())
            });
        match account {
            Some(a) => Ok(Account(a.to_owned())),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// An error as the API answers it: a status and `{"code", "message"}`.
#[derive(Debug)]
pub enum ApiError {
    /// No usable bearer.
    Unauthorized,
    /// A refusal of the app itself.
    Status(StatusCode, &'static str, &'static str),
    /// The engine's error, by its family.
    Engine(enlist::Error),
}

impl From<enlist::Error> for ApiError {
    fn from(e: enlist::Error) -> Self {
        ApiError::Engine(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Unauthorized => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"code": "unauthorized", "message": "sign in: Authorization: Bearer <account>"})),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            ApiError::Status(status, code, message) => (status, code, message.to_owned()),
            ApiError::Engine(e) => {
                let status = match e.family() {
                    ErrorFamily::InvalidInput => StatusCode::BAD_REQUEST,
                    ErrorFamily::LimitExceeded => StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorFamily::PermissionDenied => StatusCode::FORBIDDEN,
                    ErrorFamily::NotFound => StatusCode::NOT_FOUND,
                    ErrorFamily::Conflict => StatusCode::CONFLICT,
                    ErrorFamily::Expired | ErrorFamily::Revoked => StatusCode::GONE,
                    ErrorFamily::Mail => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                // The engine's messages carry no secret; a store's may name
                // a file or a server: those stay in the server's log.
                let message = if status == StatusCode::SERVICE_UNAVAILABLE {
                    eprintln!("storage error: {e}");
                    "the service is unavailable; try again later".to_owned()
                } else {
                    e.to_string()
                };
                (status, e.code(), message)
            }
        };
        (status, Json(json!({"code": code, "message": message}))).into_response()
    }
}

/// `POST /orgs`: `{"name", "owner_email"}`.
#[derive(Deserialize)]
struct NewOrg {
    name: String,
    owner_email: String,
}

/// An organization and the caller's member id in it.
#[derive(Serialize)]
struct Membership {
    org_id: OrgId,
    member_id: MemberId,
}

async fn create_org(
    State(state): State<AppState>,
    account: Account,
    Json(body): Json<NewOrg>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let owner = account.0.clone();
    let created = state
        .engine
        .run(move |e| {
            e.create_organization(enlist::NewOrganization::new(
                body.name,
                owner,
                body.owner_email,
            ))
        })
        .await?;
    let (org_id, member_id) = (created.organization.id, created.owner.id);
    state.remember(&account.0, &org_id, &member_id);
    Ok((StatusCode::CREATED, Json(Membership { org_id, member_id })))
}

/// `POST /orgs/{org}/invitations`: `{"recipients": "pasted text"}`.
#[derive(Deserialize)]
struct InviteBody {
    recipients: String,
}

async fn invite(
    State(state): State<AppState>,
    account: Account,
    Path(org): Path<String>,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let org = OrgId::from(org);
    let actor = state.actor(&account, &org)?;
    let mailer = Arc::clone(&state.mailer);
    let report = state
        .engine
        .run(move |e| {
            let report = e.invite(
                &org,
                &actor,
                InviteRequest::new(Recipients::Paste(body.recipients)),
            )?;
            // The invitations are committed; a mail failure is retried by
            // the outbox later, so it does not fail the request.
            let _ = e.deliver_pending(mailer.as_ref(), MAIL_BATCH);
            Ok(report)
        })
        .await?;
    // A view without the secrets: the tokens went to the invitees by email.
    let issued: Vec<_> = report
        .issued
        .iter()
        .map(|i| json!({"invitation_id": i.invitation.id, "recipient": i.invitation.recipient}))
        .collect();
    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|r| json!({"input": r.input, "reason": r.reason}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"issued": issued, "rejected": rejected})),
    ))
}

/// `POST /invitations/preview` and `/accept`: the token, and for accept
/// the person's names.
#[derive(Deserialize)]
struct TokenBody {
    token: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> Result<Json<enlist::InvitationPreview>, ApiError> {
    Ok(Json(
        state.engine.run(move |e| e.preview(&body.token)).await?,
    ))
}

async fn accept(
    State(state): State<AppState>,
    account: Account,
    Json(body): Json<TokenBody>,
) -> Result<Json<Membership>, ApiError> {
    let registration = Registration {
        user_ref: account.0.clone(),
        first_name: body.first_name,
        last_name: body.last_name,
        ..Registration::default()
    };
    let accepted = state
        .engine
        .run(move |e| e.accept(&body.token, registration))
        .await?;
    let (org_id, member_id) = (accepted.invitation.org_id, accepted.member.id);
    state.remember(&account.0, &org_id, &member_id);
    Ok(Json(Membership { org_id, member_id }))
}

/// `GET /orgs/{org}/people?limit=&after=`.
#[derive(Deserialize)]
struct PeopleParams {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
}

async fn people(
    State(state): State<AppState>,
    account: Account,
    Path(org): Path<String>,
    Query(params): Query<PeopleParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let org = OrgId::from(org);
    let actor = state.actor(&account, &org)?;
    let mut query = PeopleQuery::default();
    if let Some(limit) = params.limit {
        query.limit = limit;
    }
    query.after = params.after;
    let page = state
        .engine
        .run(move |e| e.people(&org, &actor, &query))
        .await?;
    Ok(Json(
        json!({"items": page.items, "next_cursor": page.next_cursor}),
    ))
}
