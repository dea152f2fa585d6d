//! The OpenAPI document of order-intake, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they answer with. `services/order-intake/openapi.json` is its
//! output, committed so reviewers (and the n8n workflow's check in `tools/knowledge-seed`) see
//! it; `tests/api/openapi.rs` fails when the two differ and rewrites the file when run with
//! `UPDATE_OPENAPI=1`.
//!
//! The handlers parse their bodies by hand (so that every failing field is named), so the
//! request types below only describe those bodies; the answers are the handlers' own types.

pub use gadai_http::openapi::{
    AnyObject, ApiKeyScheme, Error, FieldError, LocPart, NoTags, ValidationError, constant,
};
use serde::Deserialize;
use utoipa::{
    IntoParams, OpenApi, ToSchema,
    openapi::{ObjectBuilder, OneOfBuilder, RefOr, Schema, Type},
};

use super::insert_orders::{self, Created};
use super::{legacy_order, quote};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gadai order-intake",
        version = "1.0.0",
        description = "The HTTP bridge the n8n agent posts pawn orders to. Every write answers after NATS JetStream acknowledged the order.created events."
    ),
    servers((url = "http://127.0.0.1:2027")),
    paths(
        insert_orders::insert_orders,
        super::openapi,
        gadai_http::openapi::healthz,
        gadai_http::openapi::readyz,
        gadai_http::openapi::metrics,
        quote::post_quote,
        legacy_order::post_order,
    ),
    components(schemas(OrderIn, Created, Error, ValidationError)),
    modifiers(&ApiKeyScheme, &NoTags),
    security(("apiKey" = [])),
)]
pub struct ApiDoc;

/// The document as committed and served.
pub fn document() -> String {
    gadai_http::openapi::render(ApiDoc::openapi())
}

/// The optional `Idempotency-Key` header of the order writes (read by `insert_orders::accept`
/// from the headers).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Makes retries safe: the same key returns the same order ids and creates nothing new. Without it, an identical body within IDEMPOTENCY_FALLBACK_WINDOW (default 10 min) counts as a retry.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        required = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    pub idempotency_key: String,
}

// `POST /api/insert-orders`' body: one order, or a batch of 1 to 100 (all or nothing).
pub struct InsertOrdersRequest;

impl utoipa::PartialSchema for InsertOrdersRequest {
    fn schema() -> RefOr<Schema> {
        let order = || RefOr::Ref(utoipa::openapi::Ref::from_schema_name("OrderIn"));
        OneOfBuilder::new()
            .item(order())
            .item(
                utoipa::openapi::ArrayBuilder::new()
                    .min_items(Some(1))
                    .max_items(Some(100))
                    .items(order()),
            )
            .into()
    }
}

impl ToSchema for InsertOrdersRequest {}

// An order as `POST /api/insert-orders` (and `/order`) accept it.
#[derive(ToSchema)]
pub struct OrderIn {
    /// Letters, spaces and . ' - , only; no placeholders such as "user" or "pengguna". Stored title-cased.
    #[schema(min_length = 2, max_length = 100)]
    pub nama_customer: String,
    /// The customer's address; an allow-list of domains applies when EMAIL_DOMAIN_ALLOWLIST is set.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The item; for emas only "emas antam" or "emas UBS".
    #[schema(min_length = 1, max_length = 200)]
    pub nama_barang: String,
    /// A category of the configured catalog (default televisi, handphone, kamera, laptop, emas, elektronik), any case.
    pub jenis_barang: String,
    #[schema(schema_with = order_quantity)]
    pub jumlah_barang: u64,
    #[schema(schema_with = order_value)]
    pub estimasi_nilai_barang: u64,
    #[schema(min_length = 1, max_length = 100)]
    pub wilayah: String,
    #[schema(schema_with = conversation_id, required = false)]
    pub id_percakapan: Option<String>,
}

/// A whole number written as digits (n8n's expressions often produce strings).
fn digits() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9]{1,18}$"))
}

/// A whole number, as a JSON integer from `minimum` (to `maximum`) or as digits.
fn whole_number(minimum: u64, maximum: Option<u64>, description: &str) -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(minimum))
                .maximum(maximum),
        )
        .item(digits())
        .description(Some(description))
        .into()
}

fn order_quantity() -> Schema {
    whole_number(1, Some(1_000_000), "Units, or grams for emas.")
}

fn order_value() -> Schema {
    whole_number(0, Some(10_000_000_000_000), "Estimated value in Rupiah.")
}

fn conversation_id() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(200)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("The chat's conversation id (optional)."))
        .into()
}

// `POST /api/quote`'s body.
#[derive(ToSchema)]
pub struct QuoteRequest {
    /// Province, e.g. "Jawa Barat" (Jakarta, Jabar, Jatim are understood).
    #[schema(min_length = 1, max_length = 100)]
    pub wilayah: String,
    #[schema(inline, min_items = 1, max_items = 100)]
    pub items: Vec<QuoteItem>,
}

// An item to price.
#[derive(ToSchema)]
pub struct QuoteItem {
    pub nama_barang: String,
    #[schema(schema_with = quote_quantity)]
    pub jumlah_barang: u64,
    #[schema(schema_with = unit_price)]
    pub harga_satuan: u64,
}

fn quote_quantity() -> Schema {
    whole_number(1, None, "Units, or grams for emas")
}

fn unit_price() -> Schema {
    whole_number(0, None, "Unit price (per gram for emas), Rupiah")
}

// `POST /order`'s body: `dataOrder` is a JSON string of `{"dataOrder": [orders]}` (or that
// object, or the list, already decoded).
#[derive(ToSchema)]
pub struct LegacyOrderRequest {
    #[schema(rename = "dataOrder", schema_with = data_order)]
    pub data_order: String,
}

fn data_order() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Object))
        .item(ObjectBuilder::new().schema_type(Type::Array))
        .into()
}
