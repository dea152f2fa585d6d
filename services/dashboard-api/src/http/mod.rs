//! dashboard-api's HTTP surface: `/dashboard/*` for the web app and n8n, the built web app at
//! `/`, the OpenAPI document and the ops routes.

pub mod auth;
pub mod events;
mod export;
pub mod feeds;
pub mod openapi;
mod operators;
mod orders;

pub use operators::{create_operator, set_password};
mod stats;
pub mod verification;

use std::{
    net::{IpAddr, SocketAddr},
    path::Path,
    sync::Arc,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post},
};
use gadai_bus::Bus;
use gadai_kit::api_key::{self, ApiKey};
use http::{HeaderMap, HeaderValue, header};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tower_http::services::{ServeDir, ServeFile};

use crate::config::Settings;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub bus: Bus,
    pub hub: events::Hub,
    pub settings: Arc<Settings>,
    /// The live feeds open on this replica, each tied to its session.
    pub feeds: feeds::Feeds,
    /// Cancelled when shutdown starts: live feeds end so the server can drain.
    pub closing: tokio_util::sync::CancellationToken,
}

/// The rate-limit key of the client behind `peer` (see [`gadai_kit::client`]).
pub fn client_key(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    let ip: IpAddr = state.settings.trusted_proxies.client(peer.ip(), headers);
    gadai_kit::client::bucket(ip)
}

/// The OpenAPI document of this service, served at `/openapi.json`: the output of
/// [`openapi::document`], committed (a test fails when they differ).
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router(state: AppState) -> Router {
    // Operators' routes: a session, and on writes its CSRF token.
    let operators = Router::new()
        .route("/orders", get(orders::list))
        .route("/orders/export", get(export::export))
        .route("/orders/{id}", get(orders::detail))
        .route("/order/{id}", delete(orders::delete))
        .route("/stats", get(stats::stats))
        .route("/events", get(events::events))
        .route("/verification/{id}", post(verification::send))
        .route("/verification/{id}/resend", post(verification::resend))
        .route("/auth/me", get(auth::me))
        .route("/auth/logout", post(auth::logout))
        .route("/operators", get(operators::list).post(operators::create))
        .route("/operators/{id}", patch(operators::update))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ));
    // n8n's route takes the API key; login is open (and rate limited).
    let api = Router::new()
        .route(
            "/auth/login",
            post(auth::login).layer(DefaultBodyLimit::max(auth::LOGIN_BODY_LIMIT)),
        )
        .route(
            "/verify",
            post(verification::verify).layer(middleware::from_fn_with_state(
                ApiKey(state.settings.apps_key.expose_secret().into()),
                api_key::require,
            )),
        )
        .merge(operators)
        .fallback(gadai_kit::error::not_found);
    let router = Router::new()
        .nest("/dashboard", api)
        .route("/openapi.json", get(openapi))
        .with_state(state.clone());
    with_web_app(router, &state.settings.web_dist)
        .layer(middleware::from_fn_with_state(state, security_headers))
}

/// What the web app may load: only its own scripts, styles, images and API (the SSE feed
/// included); no frames, plugins or inline script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every answer: the CSP, no framing, no MIME sniffing, no referrer, and
/// HSTS when the request came over HTTPS (directly or as a trusted proxy says).
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let https = state.settings.cookie_secure.resolve(req.headers());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if https {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Serves the built dashboard when it is there; unknown paths get `index.html` so deep links
/// work. Unknown `/dashboard/*` paths stay JSON 404s (the nested router's fallback).
fn with_web_app(router: Router, dist: &Path) -> Router {
    let index = dist.join("index.html");
    if index.is_file() {
        router.fallback_service(ServeDir::new(dist).fallback(ServeFile::new(index)))
    } else {
        router.fallback(gadai_kit::error::not_found)
    }
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    summary = "This document",
    security(),
    responses((status = 200, description = "OpenAPI 3.1 document", body = inline(openapi::AnyObject)))
)]
async fn openapi() -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}
