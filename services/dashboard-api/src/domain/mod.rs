//! The dashboard's view of an order, folded from its events, and the decisions operators'
//! commands make on it. Pure: no I/O.

pub mod customer;
pub mod decide;
pub mod operator;
pub mod order;
pub mod retention;

pub use decide::{Command, Limits, Refusal, decide};
pub use order::{Customer, Erasure, OrderFacts, OrderPersonal, OrderView, Status};

/// Events the domain's tests are given.
#[cfg(test)]
pub(crate) mod test_events {
    use gadai_events::{EventKind, OrderCreated};

    /// A laptop order of Budi's.
    pub fn created() -> EventKind {
        EventKind::OrderCreated(OrderCreated {
            nama_customer: "Budi".into(),
            email: "b@example.com".into(),
            nama_barang: "Laptop".into(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 5_000_000,
            wilayah: "Jawa Barat".into(),
            id_percakapan: None,
            idempotency: None,
            subject: None,
        })
    }
}
