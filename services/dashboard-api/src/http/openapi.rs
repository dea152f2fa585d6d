//! The OpenAPI document of dashboard-api, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they answer with. `services/dashboard-api/openapi.json` is its
//! output, committed so reviewers see it; `tests/api/openapi.rs` fails when the two differ and
//! rewrites the file when run with `UPDATE_OPENAPI=1`.
//!
//! The answer types below are the ones the handlers serialize; the request types describe bodies
//! the handlers parse themselves (so that errors keep the seed's shapes). The order, its history
//! and the stats are the read model's own types.

pub use gadai_http::openapi::{
    AnyObject, ApiKeyScheme, Error, FieldError, LocPart, NoTags, ValidationError, constant,
};
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        ObjectBuilder, RefOr, Schema, Type,
        security::{ApiKey, ApiKeyValue, SecurityScheme},
    },
};
use uuid::Uuid;

use super::{
    auth, customer, events, export, handoffs, operators, orders, privacy, stats, verification,
};
use crate::read_model::Order;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gadai dashboard-api",
        version = "1.0.0",
        description = "The operators' API: the read model projected from the event stream, the live feed, and the actions that publish events. Writes answer after NATS JetStream acknowledged the event; the read model follows within milliseconds (watch /dashboard/events). Every /dashboard/* route needs an operator session (cookie gadai_session from /dashboard/auth/login; writes also send X-CSRF-Token), except /dashboard/auth/login and the agent's routes, which take n8n's X-API-Key: /dashboard/verify and /dashboard/customer/*."
    ),
    servers((url = "http://127.0.0.1:2026")),
    paths(
        orders::list,
        orders::detail,
        orders::delete,
        stats::stats,
        events::events,
        super::openapi,
        gadai_http::openapi::healthz,
        gadai_http::openapi::readyz,
        gadai_http::openapi::metrics,
        verification::send,
        verification::resend,
        verification::verify,
        auth::login,
        auth::logout,
        auth::me,
        operators::list,
        operators::create,
        operators::update,
        export::export,
        super::mail_template::current,
        super::mail_template::save,
        super::mail_template::preview,
        super::mail_template::history,
        customer::status,
        customer::resend,
        customer::open_handoff,
        handoffs::list,
        handoffs::close,
        privacy::erase,
        privacy::erasures,
        privacy::customer_data,
    ),
    components(schemas(Order, Error, ValidationError, Session)),
    modifiers(&ApiKeyScheme, &SessionScheme, &NoTags),
    security(("session" = [])),
)]
pub struct ApiDoc;

/// The document as committed and served.
pub fn document() -> String {
    gadai_http::openapi::render(ApiDoc::openapi())
}

/// The operators' session cookie: the security scheme `session`.
struct SessionScheme;

impl Modify for SessionScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("gadai_session"))),
        );
    }
}

// The role of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
}

impl From<crate::domain::operator::Role> for Role {
    fn from(role: crate::domain::operator::Role) -> Self {
        match role {
            crate::domain::operator::Role::Admin => Role::Admin,
            crate::domain::operator::Role::Operator => Role::Operator,
        }
    }
}

// An operator as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct OperatorInfo {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[schema(inline)]
    pub role: Role,
    /// Inactive operators cannot log in.
    pub active: bool,
}

// The session as login and `/auth/me` answer it.
#[derive(Serialize, ToSchema)]
pub struct Session {
    #[schema(inline)]
    pub operator: OperatorInfo,
    /// Send it in X-CSRF-Token on every write.
    pub csrf_token: String,
    #[schema(inline)]
    pub limits: Limits,
}

#[derive(Serialize, ToSchema)]
#[schema(
    description = "The server's verification settings, so the UI shows the same cool-down the server enforces."
)]
pub struct Limits {
    /// RESEND_COOLDOWN: how long after a mail a new code may be sent.
    #[schema(minimum = 0)]
    pub resend_cooldown_seconds: u64,
    /// MAX_VERIFICATION_SENDS: the most codes mailed for one order.
    #[schema(minimum = 1)]
    pub max_verification_sends: u32,
}

// `{"message": "Order berhasil dihapus"}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    #[schema(schema_with = deleted_message)]
    pub message: String,
}

fn deleted_message() -> impl Into<RefOr<Schema>> {
    constant("Order berhasil dihapus")
}

// A verification send on its way.
#[derive(Serialize, ToSchema)]
pub struct SendAccepted {
    #[schema(example = "Email verifikasi sedang dikirim ke budi@example.com")]
    pub message: String,
    pub order_id: Uuid,
}

// `POST /dashboard/verify`'s body.
#[derive(ToSchema)]
pub struct VerifyRequest {
    /// The code from the e-mail; case and surrounding spaces are forgiven.
    #[schema(min_length = 1, max_length = 64)]
    pub kode_unik: String,
    /// The order reference printed in the e-mail ("Nomor referensi pengajuan"): 8 characters 0-9 and A-F; case, spaces, # and - are forgiven.
    #[schema(
        pattern = r"^[\s#-]*([0-9A-Fa-f][\s#-]*){8}$",
        max_length = 32,
        examples("3F9A0C12")
    )]
    pub referensi: Option<String>,
    /// The order id (an alternative to referensi; when both are given they must belong to the same order).
    pub order_id: Option<Uuid>,
}

// A code that matched.
#[derive(Serialize, ToSchema)]
pub struct Verified {
    #[schema(schema_with = verified_message)]
    pub message: &'static str,
    pub order_id: Uuid,
}

impl Verified {
    pub fn new(order_id: Uuid) -> Self {
        Verified {
            message: "Order berhasil diverifikasi",
            order_id,
        }
    }
}

fn verified_message() -> impl Into<RefOr<Schema>> {
    constant("Order berhasil diverifikasi")
}

// A done action, told in words: `{"message": "Operator diperbarui"}`.
#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message: &'static str,
}

// `POST /dashboard/auth/login`'s body.
#[derive(ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

// `POST /dashboard/operators`' body.
#[derive(ToSchema)]
pub struct NewOperatorRequest {
    #[schema(pattern = "^[a-z0-9._-]{3,32}$")]
    pub username: String,
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(inline)]
    pub role: Role,
    #[schema(required = false)]
    pub display_name: String,
}

// `PATCH /dashboard/operators/{id}`'s body: any of these.
#[derive(ToSchema)]
pub struct OperatorChange {
    #[schema(inline, required = false)]
    pub role: Role,
    #[schema(required = false)]
    pub active: bool,
    #[schema(min_length = 10, required = false)]
    pub password: String,
}

/// A file's bytes.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl ToSchema for Binary {}
