//! What both services' generated OpenAPI documents share: the seed's error bodies, the ops
//! routes (`/healthz`, `/readyz`, `/metrics`), untagged operations and `const` strings.

use serde::Serialize;
use utoipa::{
    Modify, ToSchema,
    openapi::{
        Object, ObjectBuilder, OpenApi, Type,
        extensions::Extensions,
        security::{ApiKey, ApiKeyValue, SecurityScheme},
    },
};

/// A document as committed and served: pretty JSON with a final newline, naming no license or
/// contact (utoipa would take them from Cargo.toml).
pub fn render(mut doc: OpenApi) -> String {
    doc.info.license = None;
    doc.info.contact = None;
    let mut text = doc.to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

/// The machine clients' key, sent in `X-API-Key`: the security scheme `apiKey`.
pub struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "apiKey",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
            );
    }
}

/// Operations are not grouped: utoipa would tag each with its module's name.
pub struct NoTags;

impl Modify for NoTags {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                operation.tags = None;
            }
        }
    }
}

/// A string schema that admits one value (`const`).
pub fn constant(value: &str) -> Object {
    let mut extensions = Extensions::default();
    extensions.insert("const".into(), value.into());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .extensions(Some(extensions))
        .build()
}

// An error answer: `{"detail": ...}` (a message, or the list of a validation error).
#[derive(ToSchema)]
pub struct Error {
    pub detail: serde_json::Value,
}

// A validation error in FastAPI's shape: every failing field named.
#[derive(ToSchema)]
pub struct ValidationError {
    #[schema(inline)]
    pub detail: Vec<FieldError>,
}

#[derive(ToSchema)]
pub struct FieldError {
    #[schema(inline)]
    pub loc: Vec<LocPart>,
    pub msg: String,
    #[schema(rename = "type")]
    pub kind: String,
}

// A part of a field's location: a name or an index.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    Name(String),
    Index(i64),
}

// Any JSON object.
#[derive(ToSchema)]
pub struct AnyObject {}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    summary = "Alive",
    security(),
    responses((status = 200, description = "ok", body = String, content_type = "text/plain"))
)]
pub fn healthz() {}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    summary = "Postgres and NATS reachable, migrations done",
    security(),
    responses(
        (status = 200, description = "ready", body = inline(AnyObject)),
        (status = 503, description = "not ready, with what is failing", body = inline(AnyObject)),
    )
)]
pub fn readyz() {}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    security(),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub fn metrics() {}
