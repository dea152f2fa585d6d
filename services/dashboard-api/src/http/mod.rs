//! dashboard-api's HTTP surface: `/dashboard/*` for the web app and n8n, the built web app at
//! `/`, the OpenAPI document and the ops routes.

pub mod auth;
mod customer;
pub mod events;
mod export;
pub mod feeds;
mod handoffs;
pub mod mail_template;
pub mod openapi;
mod operators;
mod orders;
mod privacy;

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
use gadai_http::api_key::{self, ApiKey};
use http::{HeaderMap, HeaderValue, header};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

use crate::config::Settings;

/// What the handlers share. Every request gets a clone (axum's `State`), so each part is a
/// handle: the bus and the key client are shared, not cloned (their NATS clients and strings
/// are about ten allocations to clone and drop again).
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub bus: Arc<Bus>,
    /// Customers' keys from order-intake's key store (`rpc.keys.get`): for sealing hand-offs and
    /// learning the generation an erasure erases.
    pub keys: Arc<gadai_privacy::KeyClient>,
    pub hub: events::Hub,
    pub settings: Arc<Settings>,
    /// The live feeds open on this replica, each tied to its session.
    pub feeds: feeds::Feeds,
    /// Cancelled when shutdown starts: live feeds end so the server can drain.
    pub closing: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// Publishes an event and waits for its PubAck; a stream that does not acknowledge in time
    /// is a 503 the caller may retry (the same `Nats-Msg-Id` makes a retry harmless).
    pub async fn publish(&self, event: &gadai_events::Event) -> Result<(), gadai_http::ApiError> {
        self.bus
            .publish(event)
            .await
            .map(|_| ())
            .map_err(|e| gadai_http::ApiError::Unavailable(format!("{e:#}")))
    }
}

/// The rate-limit key of the client behind `peer` (see [`gadai_http::client`]).
pub fn client_key(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    let ip: IpAddr = state.settings.trusted_proxies.client(peer.ip(), headers);
    gadai_http::client::bucket(ip)
}

/// The OpenAPI document of this service, served at `/openapi.json`: the output of
/// [`openapi::document`], committed (a test fails when they differ).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// n8n's routes (API key): the code check and the customer-service tools.
fn agent_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/verify", post(verification::verify))
        .route("/customer/status", post(customer::status))
        .route("/customer/resend", post(customer::resend))
        .route("/customer/handoff", post(customer::open_handoff))
        .route_layer(middleware::from_fn_with_state(
            ApiKey(state.settings.apps_key.expose_secret().into()),
            api_key::require,
        ))
}

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
        .route(
            "/mail-template",
            get(mail_template::current)
                .put(mail_template::save)
                .layer(DefaultBodyLimit::max(mail_template::BODY_LIMIT)),
        )
        .route(
            "/mail-template/preview",
            post(mail_template::preview).layer(DefaultBodyLimit::max(mail_template::BODY_LIMIT)),
        )
        .route("/mail-template/history", get(mail_template::history))
        .route("/handoffs", get(handoffs::list))
        .route("/handoffs/{id}/close", post(handoffs::close))
        .route(
            "/admin/erasures",
            get(privacy::erasures)
                .post(privacy::erase)
                .layer(DefaultBodyLimit::max(privacy::BODY_LIMIT)),
        )
        .route("/admin/customers/data", post(privacy::customer_data))
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
        .merge(agent_routes(&state))
        .merge(operators)
        .fallback(gadai_http::error::not_found);
    let router = Router::new()
        .nest("/dashboard", api)
        .route("/openapi.json", get(openapi))
        .with_state(state.clone());
    with_web_app(router, &state.settings.web_dist)
        .layer(middleware::from_fn_with_state(state, security_headers))
}

/// What the web app may load: only its own scripts, styles, images and API (the SSE feed
/// included); no frames, plugins or inline script.
///
/// `style-src-attr`: the mail template editor previews the mail's HTML in a sandboxed `srcdoc`
/// frame, which inherits this policy; the hashes are those of the mail's own `style` attributes
/// (`gadai_mail_template::style`, a fixed list; a test in `mail_template.rs` checks them), so
/// the preview shows the mail as it is sent while no other inline style is allowed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; style-src-attr 'unsafe-hashes' \
     'sha256-hQOCFkEpofOiwzYV0z4fhbgS/YXDpzsbTPZl3ENGBF0=' \
     'sha256-wRCr5jc5zzjRwWHkC/1FCX0IJ7eFQYD00mE4voPz820=' \
     'sha256-CyMs5vWzAJETmUppTdMUoQQSHnOcckthxS1LQNTGNSM=' \
     'sha256-umcdumK3dsLZd/Yv2lXg5QbzO4T8oYYw4rGxwXOC6WQ=' \
     'sha256-yf+wy4Q5W5fmDqqbp+JbI80D/CBZ5QxOtISclmnEuR0=' \
     'sha256-R2vvpvftwhdnPyYHRbWPxkFWsBsNb+SE9y1jTQaKA1s=' \
     'sha256-Ewap9UULxL+jtG/U4ldQh9DshCgRjPRu4sDWu42k9lY='; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
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
///
/// Files are sent in the encoding the browser accepts, from the `.br`/`.gz` copies the build
/// wrote beside them (`Vary: Accept-Encoding`). `/assets/*` names carry a hash of their
/// content, so they are cached for a year and never revalidated; everything else (`index.html`,
/// which names the current assets) is revalidated on every visit (`no-cache`; ServeDir answers
/// `If-Modified-Since` with 304).
fn with_web_app(router: Router, dist: &Path) -> Router {
    let index = dist.join("index.html");
    if !index.is_file() {
        return router.fallback(gadai_http::error::not_found);
    }
    let assets = ServiceBuilder::new()
        .layer(cache_control(IMMUTABLE))
        .layer(vary_on_encoding())
        .service(
            ServeDir::new(dist.join("assets"))
                .precompressed_br()
                .precompressed_gzip(),
        );
    let pages = ServiceBuilder::new()
        .layer(cache_control(REVALIDATE))
        .layer(vary_on_encoding())
        .service(
            ServeDir::new(dist)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(
                    ServeFile::new(index)
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        );
    router
        .nest_service("/assets", assets)
        .fallback_service(pages)
}

/// `Cache-Control` of content-hashed files.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of files whose name stays while their content changes.
const REVALIDATE: &str = "no-cache";

/// Sets `Cache-Control: value` on files served (200, 206, 304); errors are not cached.
fn cache_control<B>(
    value: &'static str,
) -> SetResponseHeaderLayer<impl FnMut(&http::Response<B>) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, move |res: &http::Response<B>| {
        let served = res.status().is_success() || res.status() == http::StatusCode::NOT_MODIFIED;
        Some(HeaderValue::from_static(if served {
            value
        } else {
            "no-store"
        }))
    })
}

/// `Vary: Accept-Encoding`: caches keep one copy per encoding.
fn vary_on_encoding() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::VARY, HeaderValue::from_static("accept-encoding"))
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
