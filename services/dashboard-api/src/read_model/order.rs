//! The order as the API shows it ([`Order`]): its JSON, its OpenAPI schema and the columns of
//! the CSV/XLSX export all come from the one field list of [`api_order!`].

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{
    ToSchema,
    openapi::{ObjectBuilder, RefOr, Schema, Type},
};
use uuid::Uuid;

use crate::domain::{OrderView, Status};

/// One exported column: its name (the API field's), its width in the workbook (characters),
/// and whether its numbers are Rupiah.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportColumn {
    pub name: &'static str,
    pub width: f64,
    pub rupiah: bool,
}

/// One exported cell, typed so each format writes it its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Number(i64),
    Time(DateTime<Utc>),
}

/// A field's value as an export cell.
pub trait ToCell {
    fn to_cell(&self) -> Cell<'_>;
}

impl ToCell for Uuid {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Text(Cow::Owned(self.to_string()))
    }
}

impl ToCell for &str {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Text(Cow::Borrowed(self))
    }
}

impl ToCell for String {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Text(Cow::Borrowed(self))
    }
}

impl ToCell for i64 {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Number(*self)
    }
}

impl ToCell for DateTime<Utc> {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Time(*self)
    }
}

impl<T: ToCell> ToCell for Option<T> {
    fn to_cell(&self) -> Cell<'_> {
        self.as_ref().map_or(Cell::Empty, ToCell::to_cell)
    }
}

macro_rules! is_rupiah {
    () => {
        false
    };
    (rupiah) => {
        true
    };
}

macro_rules! export_cell {
    ($value:expr, $width:literal) => {
        ToCell::to_cell(&$value)
    };
}

/// Declares the API's order type from one field list; a field marked `=> export(width)` (or
/// `=> export(width, rupiah)`) is also a column of the exports, in the order of the list.
macro_rules! api_order {
    ($(#[$meta:meta])* pub struct $name:ident {
        $($(#[$field_meta:meta])* $field:ident: $ty:ty $(=> export($width:literal $(, $money:ident)?))?),+ $(,)?
    }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)+
        }

        impl $name {
            /// The exported columns, in their order.
            pub const EXPORT_COLUMNS: &[ExportColumn] = &[$($(ExportColumn {
                name: stringify!($field),
                width: $width,
                rupiah: is_rupiah!($($money)?),
            },)?)+];

            /// This order's fields among [`Self::EXPORT_COLUMNS`], as they are.
            fn field_cells(&self) -> Vec<Cell<'_>> {
                vec![$($(export_cell!(self.$field, $width),)?)+]
            }
        }
    };
}

api_order! {
    /// An order: the seed's fields and status strings, plus what live dashboards need.
    #[derive(Debug, Clone, Serialize, ToSchema)]
    #[schema(
        description = "An order: the seed's fields and status strings, plus what live dashboards need (times, the sending flag, the last failure). The customer's facts are null while the projection has seen a later event of the order before its order.created. Once the customer's personal data is erased (UU PDP 27/2022), nama_customer, email, nama_barang and id_percakapan are null and data_dihapus is true; the other facts stay."
    )]
    pub struct Order {
        #[schema(required = true)]
        id: Uuid => export(38.0),
        // The seed's three strings for active orders; Expired and Deleted only in a detail.
        #[schema(schema_with = status_schema, required = true)]
        status: &'static str => export(16.0),
        #[schema(required = true)]
        nama_customer: Option<String> => export(24.0),
        #[schema(required = true)]
        email: Option<String> => export(28.0),
        #[schema(required = true)]
        nama_barang: Option<String> => export(24.0),
        #[schema(required = true)]
        jenis_barang: Option<String> => export(16.0),
        #[schema(required = true)]
        jumlah_barang: Option<i64> => export(14.0),
        #[schema(required = true)]
        estimasi_nilai_barang: Option<i64> => export(22.0, rupiah),
        #[schema(required = true)]
        wilayah: Option<String> => export(18.0),
        #[schema(required = true)]
        id_percakapan: Option<String> => export(20.0),
        #[schema(required = true)]
        created_at: Option<DateTime<Utc>> => export(20.0),
        #[schema(required = true)]
        updated_at: Option<DateTime<Utc>>,
        /// A verification e-mail is on its way (the UI shows "Mengirim...").
        #[schema(required = true)]
        sending: bool,
        /// How many sends were requested.
        #[schema(required = true)]
        send_count: i32,
        /// Why the last send failed.
        #[schema(required = true)]
        last_error: Option<String>,
        /// When the current code expires.
        #[schema(required = true)]
        expires_at: Option<DateTime<Utc>>,
        /// When the current code was mailed (the resend cool-down counts from here).
        #[schema(required = true)]
        last_sent_at: Option<DateTime<Utc>>,
        /// The customer's personal data was erased (UU PDP 27/2022): the UI shows "data dihapus" in place of the name, e-mail and item.
        #[schema(required = true)]
        data_dihapus: bool,
    }
}

/// What the exports write in place of an erased customer's name, e-mail and item.
pub const ERASED_TEXT: &str = "data dihapus";

/// The exported columns that hold the customer's words: "data dihapus" once erased.
const ERASED_COLUMNS: [&str; 3] = ["nama_customer", "email", "nama_barang"];

impl Order {
    /// This order's cells of [`Self::EXPORT_COLUMNS`]; an erased customer's name, e-mail and
    /// item read "data dihapus".
    pub fn export_cells(&self) -> Vec<Cell<'_>> {
        let mut cells = self.field_cells();
        if self.data_dihapus {
            for (cell, column) in cells.iter_mut().zip(Self::EXPORT_COLUMNS) {
                if ERASED_COLUMNS.contains(&column.name) {
                    *cell = Cell::Text(Cow::Borrowed(ERASED_TEXT));
                }
            }
        }
        cells
    }
}

/// `status`: one of the domain's labels.
fn status_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Status::ALL.map(Status::label)))
        .description(Some(
            "The seed's three strings for active orders; Expired and Deleted appear only in an order's detail.",
        ))
}

impl From<&OrderView> for Order {
    fn from(view: &OrderView) -> Self {
        let f = view.facts.as_ref();
        let personal = f.and_then(|f| f.personal.as_ref());
        Order {
            id: view.id,
            status: view.status.label(),
            nama_customer: personal.map(|p| p.nama_customer.clone()),
            email: personal.map(|p| p.email.clone()),
            nama_barang: personal.map(|p| p.nama_barang.clone()),
            jenis_barang: f.map(|f| f.jenis_barang.clone()),
            jumlah_barang: f.map(|f| f.jumlah_barang),
            estimasi_nilai_barang: f.map(|f| f.estimasi_nilai_barang),
            wilayah: f.map(|f| f.wilayah.clone()),
            id_percakapan: personal.and_then(|p| p.id_percakapan.clone()),
            created_at: f.map(|f| f.created_at),
            updated_at: view.updated_at,
            sending: view.sending,
            send_count: view.send_count,
            last_error: view.last_error.clone(),
            expires_at: view.expires_at,
            last_sent_at: view.last_sent_at,
            data_dihapus: view.is_erased(),
        }
    }
}

/// One event of an order's history: who did what, when.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct HistoryEntry {
    pub seq: i64,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_columns_are_the_api_fields_up_to_created_at() {
        let names: Vec<&str> = Order::EXPORT_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "id",
                "status",
                "nama_customer",
                "email",
                "nama_barang",
                "jenis_barang",
                "jumlah_barang",
                "estimasi_nilai_barang",
                "wilayah",
                "id_percakapan",
                "created_at",
            ]
        );
        let rupiah: Vec<&str> = Order::EXPORT_COLUMNS
            .iter()
            .filter(|c| c.rupiah)
            .map(|c| c.name)
            .collect();
        assert_eq!(rupiah, ["estimasi_nilai_barang"]);
    }

    #[test]
    fn an_order_without_facts_has_only_id_and_status_cells() {
        let view = OrderView::empty(Uuid::now_v7());
        let order = Order::from(&view);
        let cells = order.export_cells();
        assert_eq!(cells.len(), Order::EXPORT_COLUMNS.len());
        assert_eq!(cells[1], Cell::Text("On Process".into()));
        assert!(cells[2..].iter().all(|c| *c == Cell::Empty));
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["nama_customer"], serde_json::Value::Null);
        assert_eq!(json["data_dihapus"], false);
        assert_eq!(json.as_object().unwrap().len(), 18);
    }

    #[test]
    fn an_erased_order_exports_data_dihapus_in_place_of_the_customers_words() {
        let mut view = OrderView::empty(Uuid::now_v7());
        view.apply(
            1,
            &gadai_events::Event::new(view.id, "n8n", crate::domain::test_events::created()),
        );
        view.erase(&crate::domain::Erasure {
            generation: 0,
            seq: 2,
        });
        let order = Order::from(&view);
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["data_dihapus"], true);
        assert_eq!(json["email"], serde_json::Value::Null);
        assert_eq!(json["jenis_barang"], "laptop");
        let cells = order.export_cells();
        let erased = Cell::Text(ERASED_TEXT.into());
        assert_eq!(&cells[2..5], &[erased.clone(), erased.clone(), erased]);
        assert_eq!(cells[5], Cell::Text("laptop".into()));
        assert_eq!(cells[9], Cell::Empty, "id_percakapan");
    }
}
