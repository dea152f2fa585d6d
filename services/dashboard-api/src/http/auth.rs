//! Operator login: sessions in cookies, CSRF on writes, roles.
//!
//! `POST /dashboard/auth/login` checks the password (Argon2id), creates a session and sets the
//! `gadai_session` cookie (HttpOnly, SameSite=Strict, Secure over HTTPS). Every other
//! `/dashboard/*` route but `/dashboard/verify` (n8n's API key) runs behind
//! [`require_session`], which also demands the session's CSRF token in `X-CSRF-Token` on every
//! write. Login attempts are rate limited per client address and username, across replicas.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, Request, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use gadai_http::{ApiError, api_key::constant_time_eq};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    AppState,
    openapi::{Limits, OperatorInfo, Session},
};
use crate::{
    domain::operator::{
        MAX_PASSWORD_CHARS, Role, new_token, parse_username, token_hash, verify_password_capped,
    },
    limits::Limit,
};

pub const COOKIE: &str = "gadai_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The operator a request acts for; recorded as the events' `actor` (the username).
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub operator_id: Uuid,
    pub display_name: String,
    pub role: Role,
    csrf_token: String,
    /// The session's token hash (its key in `sessions`).
    session: Vec<u8>,
}

impl Operator {
    /// 403 unless the operator is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Operator => Err(ApiError::Forbidden(
                "Hanya admin yang boleh melakukan ini".into(),
            )),
        }
    }

    pub fn session(&self) -> &[u8] {
        &self.session
    }

    fn info(&self) -> OperatorInfo {
        OperatorInfo {
            id: self.operator_id,
            username: self.id.clone(),
            display_name: self.display_name.clone(),
            role: self.role.into(),
            // A session is only ever opened for, and kept by, an active operator.
            active: true,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Operator>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("Silakan masuk terlebih dahulu".into()))
    }
}

fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

async fn load_session(state: &AppState, token: &str) -> Result<Option<Operator>, ApiError> {
    let session = token_hash(token);
    let row: Option<(Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT o.id, o.username, o.display_name, o.role, s.csrf_token
         FROM sessions s JOIN operators o ON o.id = s.operator_id
         WHERE s.token_hash = $1 AND s.expires_at > now() AND o.active",
    )
    .bind(&session)
    .fetch_optional(&state.pool)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(row.map(
        |(operator_id, id, display_name, role, csrf_token)| Operator {
            id,
            operator_id,
            display_name,
            role: Role::parse(&role).unwrap_or(Role::Operator),
            csrf_token,
            session,
        },
    ))
}

/// Middleware of every operator route: a live session, and on writes its CSRF token.
pub async fn require_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let operator = match session_token(req.headers()) {
        Some(token) => match load_session(&state, token).await {
            Ok(found) => found,
            Err(err) => return err.into_response(),
        },
        None => None,
    };
    let Some(operator) = operator else {
        return ApiError::Unauthorized("Silakan masuk terlebih dahulu".into()).into_response();
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let given = req
            .headers()
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, operator.csrf_token.as_bytes()) {
            return ApiError::Forbidden("Token CSRF tidak valid; muat ulang halaman".into())
                .into_response();
        }
    }
    req.extensions_mut().insert(operator);
    next.run(req).await
}

#[derive(Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// The largest login body read at all (a username and a password with room to spare).
pub const LOGIN_BODY_LIMIT: usize = 4 * 1024;

/// The same answer for every refused login, so nothing tells which part was wrong.
const REFUSED: &str = "Username atau password salah";

/// `POST /dashboard/auth/login`. What costs memory is capped before it is spent: the body is at
/// most [`LOGIN_BODY_LIMIT`], a username or password that no account can have is refused before
/// any hashing, attempts are counted per client address and per address and username in the
/// shared limits, and the Argon2id check runs in one of the replica's two hashing slots (a login
/// that waits longer than `PASSWORD_HASH_WAIT` for one is answered 503).
#[utoipa::path(
    post,
    path = "/dashboard/auth/login",
    operation_id = "login",
    summary = "Log in (sets the session cookie)",
    security(),
    request_body(content = inline(super::openapi::LoginRequest)),
    responses(
        (status = 200, description = "Logged in; Set-Cookie gadai_session (HttpOnly, SameSite=Strict, Secure over HTTPS)", body = super::openapi::Session, headers(
            ("Set-Cookie" = String),
        )),
        (status = 401, description = "Wrong username or password", body = super::openapi::Error),
        (status = 422, description = "Body malformed", body = super::openapi::ValidationError),
        (status = 429, description = "Too many attempts for this client and username", body = super::openapi::Error, headers(
            ("Retry-After" = i64),
        )),
        (status = 503, description = "Every password-hashing slot of this replica stayed busy (a login flood); retry", body = super::openapi::Error),
        (status = 413, description = "Body over 4 KiB", body = super::openapi::Error),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let client = super::client_key(&state, peer, &headers);
    let window = Duration::from_secs(15 * 60);
    Limit {
        bucket: "login-client",
        limit: state.settings.login_client_rate_limit,
        window,
    }
    .hit(&state.pool, &client)
    .await?;
    let plausible = parse_username(&body.username)
        .ok()
        .filter(|_| body.password.chars().count() <= MAX_PASSWORD_CHARS);
    let Some(username) = plausible else {
        tracing::info!(%client, "login refused: no account can have this username or password");
        return Err(ApiError::Unauthorized(REFUSED.into()));
    };
    Limit {
        bucket: "login",
        limit: state.settings.login_rate_limit,
        window,
    }
    .hit(&state.pool, &format!("{client}|{username}"))
    .await?;
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, password_hash FROM operators WHERE username = $1 AND active")
            .bind(&username)
            .fetch_optional(&state.pool)
            .await
            .map_err(anyhow::Error::from)?;
    // Verify against a throwaway hash when the user is unknown, so timing does not tell.
    let (operator_id, phc) = row.unwrap_or_else(|| (Uuid::nil(), dummy_hash().to_owned()));
    let valid = verify_password_capped(body.password, phc, state.settings.hash_wait)
        .await
        .map_err(|_| ApiError::Unavailable("every password hashing slot is busy".into()))?;
    if !valid || operator_id.is_nil() {
        tracing::info!(%username, "login refused");
        return Err(ApiError::Unauthorized(REFUSED.into()));
    }
    let token = new_token();
    let csrf = new_token();
    let expires_at =
        Utc::now() + chrono::Duration::from_std(state.settings.session_ttl).unwrap_or_default();
    sqlx::query("INSERT INTO sessions (token_hash, operator_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(operator_id)
        .bind(&csrf)
        .bind(expires_at)
        .execute(&state.pool)
        .await
        .map_err(anyhow::Error::from)?;
    let operator = load_session(&state, &token)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new session vanished"))?;
    tracing::info!(username = %operator.id, "operator logged in");
    let secure = state.settings.cookie_secure.resolve(&headers);
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        state.settings.session_ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(session_body(&operator, &csrf, &state)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
    );
    Ok(response)
}

/// An Argon2id hash of a random password, for unknown usernames.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::domain::operator::hash_password(&new_token()).unwrap_or_default())
}

#[utoipa::path(
    post,
    path = "/dashboard/auth/logout",
    operation_id = "logout",
    summary = "End the session",
    responses(
        (status = 200, description = "Logged out; the cookie is cleared", body = inline(super::openapi::Message)),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = super::openapi::Error),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let session = token_hash(token);
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&session)
            .execute(&state.pool)
            .await
            .map_err(anyhow::Error::from)?;
        // Its feeds on this replica end now; other replicas' within feeds::CHECK_EVERY.
        state.feeds.end_session(&session);
    }
    let mut response = Json(super::openapi::Message {
        message: "Berhasil keluar",
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gadai_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// Who is logged in, with the CSRF token the UI sends on writes.
#[utoipa::path(
    get,
    path = "/dashboard/auth/me",
    operation_id = "me",
    summary = "The logged-in operator and the CSRF token",
    responses(
        (status = 200, description = "The session", body = super::openapi::Session),
        (status = 401, description = "No session", body = super::openapi::Error),
    )
)]
pub async fn me(State(state): State<AppState>, operator: Operator) -> Json<Session> {
    Json(session_body(&operator, &operator.csrf_token, &state))
}

/// The session as login and `/auth/me` answer it: the operator, the CSRF token, and the
/// verification limits the UI shows (so its cool-down is the one the server enforces).
fn session_body(operator: &Operator, csrf: &str, state: &AppState) -> Session {
    Session {
        operator: operator.info(),
        csrf_token: csrf.to_owned(),
        limits: Limits {
            resend_cooldown_seconds: state.settings.resend_cooldown.as_secs(),
            max_verification_sends: state.settings.max_sends.max(0) as u32,
        },
    }
}
