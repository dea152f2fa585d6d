//! What the agent may tell a customer about their order: the status in words it can repeat in
//! Bahasa Indonesia, the times of the current code, and nothing else of the order.

use chrono::{DateTime, Utc};
use gadai_events::check::Reference;
use serde::Serialize;
use utoipa::ToSchema;

use super::{OrderView, Status};

/// Where the order stands, from the customer's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerState {
    /// Received; an officer has not sent a code yet.
    MenungguPetugas,
    /// A code is on its way to the customer's e-mail.
    MengirimKode,
    /// The last mail could not be delivered; an officer will send it again.
    GagalKirim,
    /// A code was mailed and is still valid.
    KodeTerkirim,
    /// The code's time ran out (the order will expire, or has).
    Kedaluwarsa,
    Terverifikasi,
    Dihapus,
}

/// The answer of `POST /dashboard/customer/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CustomerStatus {
    /// The order reference (8 hex digits, upper case).
    pub referensi: String,
    pub status: CustomerState,
    /// One or two sentences in Bahasa Indonesia the assistant can repeat to the customer.
    pub pesan: String,
    /// When the current code was mailed.
    pub kode_dikirim_pada: Option<DateTime<Utc>>,
    /// Until when the current code is valid.
    pub berlaku_sampai: Option<DateTime<Utc>>,
}

/// The customer's view of `view` at `now`; `wib` formats a time for the sentence.
pub fn describe(
    view: &OrderView,
    now: DateTime<Utc>,
    wib: impl Fn(DateTime<Utc>) -> String,
) -> CustomerStatus {
    let code_valid = view.expires_at.is_some_and(|until| until > now);
    let (status, pesan) = match view.status {
        Status::Verified => (
            CustomerState::Terverifikasi,
            "Pengajuan Anda sudah terverifikasi. Petugas Pegadaian akan memproses gadai Anda."
                .to_owned(),
        ),
        Status::Deleted => (
            CustomerState::Dihapus,
            "Pengajuan ini sudah dibatalkan oleh petugas. Silakan ajukan kembali bila masih \
             diperlukan."
                .to_owned(),
        ),
        Status::Expired => (CustomerState::Kedaluwarsa, expired()),
        _ if view.sending => (
            CustomerState::MengirimKode,
            "Kode verifikasi sedang dikirim ke email Anda. Mohon periksa kotak masuk (dan folder \
             spam) dalam beberapa menit."
                .to_owned(),
        ),
        Status::OnVerification if code_valid => (
            CustomerState::KodeTerkirim,
            format!(
                "Kode verifikasi sudah dikirim ke email Anda pada {} dan berlaku hingga {}. \
                 Berikan nomor referensi dan kode tersebut kepada asisten.",
                view.last_sent_at.map(&wib).unwrap_or_default(),
                view.expires_at.map(&wib).unwrap_or_default(),
            ),
        ),
        Status::OnVerification => (CustomerState::Kedaluwarsa, expired()),
        Status::OnProcess if view.last_error.is_some() => (
            CustomerState::GagalKirim,
            "Email verifikasi belum dapat terkirim. Petugas akan mengirimkannya kembali; pastikan \
             alamat email Anda benar."
                .to_owned(),
        ),
        Status::OnProcess => (
            CustomerState::MenungguPetugas,
            "Pengajuan Anda sudah kami terima dan sedang menunggu petugas mengirimkan kode \
             verifikasi ke email Anda."
                .to_owned(),
        ),
    };
    let current_code = matches!(
        status,
        CustomerState::KodeTerkirim | CustomerState::Kedaluwarsa
    );
    CustomerStatus {
        referensi: Reference::of(view.id).to_string(),
        status,
        pesan,
        kode_dikirim_pada: view.last_sent_at.filter(|_| current_code),
        berlaku_sampai: view.expires_at.filter(|_| current_code),
    }
}

fn expired() -> String {
    "Masa berlaku kode verifikasi sudah habis, sehingga pengajuan ini tidak dapat diverifikasi \
     lagi. Silakan ajukan kembali."
        .to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use gadai_events::*;
    use uuid::Uuid;

    use super::*;
    use crate::domain::test_events::created;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn fold(kinds: Vec<(i64, EventKind)>) -> OrderView {
        let id = Uuid::now_v7();
        let mut view = OrderView::empty(id);
        for (seq, (time, kind)) in kinds.into_iter().enumerate() {
            let mut event = Event::new(id, "n8n", kind);
            event.occurred_at = at(time);
            view.apply(seq as i64 + 1, &event);
        }
        view
    }

    fn hhmm(t: DateTime<Utc>) -> String {
        t.format("%H:%M").to_string()
    }

    fn sent(expires: i64) -> EventKind {
        EventKind::VerificationSent(VerificationSent {
            verification_id: Uuid::nil(),
            expires_at: at(expires),
        })
    }

    #[test]
    fn each_stage_has_its_own_words() {
        let waiting = fold(vec![(0, created())]);
        let s = describe(&waiting, at(10), hhmm);
        assert_eq!(s.status, CustomerState::MenungguPetugas);
        assert!(s.pesan.contains("menunggu petugas"), "{}", s.pesan);
        assert_eq!((s.kode_dikirim_pada, s.berlaku_sampai), (None, None));
        assert_eq!(s.referensi, Reference::of(waiting.id).to_string());

        let requested = EventKind::VerificationRequested(VerificationRequested::numbered(0));
        let sending = fold(vec![(0, created()), (5, requested.clone())]);
        assert_eq!(
            describe(&sending, at(10), hhmm).status,
            CustomerState::MengirimKode
        );

        let on = fold(vec![
            (0, created()),
            (5, requested.clone()),
            (60, sent(86_460)),
        ]);
        let s = describe(&on, at(120), hhmm);
        assert_eq!(s.status, CustomerState::KodeTerkirim);
        assert_eq!(s.kode_dikirim_pada, Some(at(60)));
        assert_eq!(s.berlaku_sampai, Some(at(86_460)));
        assert!(
            s.pesan.contains(&hhmm(at(60))) && s.pesan.contains(&hhmm(at(86_460))),
            "{}",
            s.pesan
        );

        // Past its time but not yet swept: already told as expired.
        let late = describe(&on, at(86_460) + Duration::seconds(1), hhmm);
        assert_eq!(late.status, CustomerState::Kedaluwarsa);

        let failed = fold(vec![
            (0, created()),
            (5, requested),
            (
                6,
                EventKind::VerificationFailed(VerificationFailed {
                    verification_id: Uuid::nil(),
                    reason: "550 no such user".into(),
                }),
            ),
        ]);
        let s = describe(&failed, at(10), hhmm);
        assert_eq!(s.status, CustomerState::GagalKirim);
        assert!(!s.pesan.contains("550"), "no internals: {}", s.pesan);

        let verified = fold(vec![
            (0, created()),
            (60, sent(86_460)),
            (
                90,
                EventKind::OrderVerified(OrderVerified {
                    verification_id: Uuid::nil(),
                }),
            ),
        ]);
        let s = describe(&verified, at(100), hhmm);
        assert_eq!(s.status, CustomerState::Terverifikasi);
        assert_eq!(s.berlaku_sampai, None);

        let deleted = fold(vec![
            (0, created()),
            (9, EventKind::OrderDeleted(OrderDeleted { reason: None })),
        ]);
        assert_eq!(
            describe(&deleted, at(10), hhmm).status,
            CustomerState::Dihapus
        );
    }

    #[test]
    fn nothing_else_of_the_order_is_told() {
        let view = fold(vec![(0, created())]);
        let json = serde_json::to_string(&describe(&view, at(1), hhmm)).unwrap();
        for private in ["Budi", "b@example.com", "Laptop", "5000000", "Jawa Barat"] {
            assert!(!json.contains(private), "{private} in {json}");
        }
    }
}
