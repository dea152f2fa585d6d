//! The verification e-mail: the newest template an admin saved (the default until then), filled
//! in for one code. HTML with a plain-text alternative, Bahasa Indonesia first, then English.
//! The template itself, its rules and its rendering are `gadai-mail-template`'s.

use chrono::{DateTime, Utc};
use gadai_events::check::Reference;
use gadai_mail_template::{MailTemplate, RenderedMail, Vars, render};
use uuid::Uuid;

use super::Code;

/// The parts of one verification e-mail.
pub type VerificationMail = RenderedMail;

/// Composes the e-mail for one code from `template`.
pub fn compose(
    template: &MailTemplate,
    name: &str,
    order_id: Uuid,
    code: &Code,
    expires_at: DateTime<Utc>,
) -> VerificationMail {
    let reference = Reference::of(order_id).to_string();
    render(
        template,
        &Vars {
            name,
            reference: &reference,
            code: code.reveal(),
            expires_at,
        },
    )
}

#[cfg(test)]
mod tests {
    use gadai_mail_template::default_template;

    use super::*;

    #[test]
    fn the_mail_carries_the_code_reference_and_expiry_in_both_parts() {
        let code = Code::parse("AB3D5F").unwrap();
        let order = Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let expires = DateTime::parse_from_rfc3339("2026-11-24T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mail = compose(&default_template(), "Siti <Rahma>", order, &code, expires);
        assert_eq!(
            mail.subject,
            "Kode Verifikasi Peminjaman Anda / Your Loan Verification Code"
        );
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("AB3D5F"));
            assert!(part.contains("0193A1B2"));
            assert!(part.contains("24 November 2026 pukul 21.05 WIB"));
            assert!(part.contains("Kode berlaku hingga"));
            assert!(part.contains("Kode saja tidak cukup"));
            assert!(part.contains("24 November 2026 at 21:05 WIB"));
        }
        assert!(
            mail.text
                .contains("berikan KEDUANYA kepada asisten: nomor referensi pengajuan (0193A1B2) dan kode verifikasi"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains(
            "berikan KEDUANYA kepada asisten: nomor referensi pengajuan (<strong>0193A1B2</strong>) dan kode verifikasi"
        ));
        assert!(
            mail.html.contains("Siti &lt;Rahma&gt;"),
            "names are escaped in HTML"
        );
        assert!(!mail.html.contains("<Rahma>"));
        assert!(mail.html.contains(r#"lang="id""#));
        // Indonesian first.
        assert!(mail.text.find("Halo Siti").unwrap() < mail.text.find("Hello Siti").unwrap());
    }

    #[test]
    fn the_printed_reference_is_the_one_checks_accept() {
        let code = Code::parse("AB3D5F").unwrap();
        for _ in 0..50 {
            let order = Uuid::now_v7();
            let mail = compose(&default_template(), "Rina", order, &code, Utc::now());
            let printed = mail
                .text
                .lines()
                .find_map(|l| l.strip_prefix("Nomor referensi pengajuan: "))
                .expect("the reference line");
            let typed = printed.to_lowercase();
            assert_eq!(Reference::parse(&typed), Some(Reference::of(order)));
            assert!(Reference::of(order).matches(order));
        }
    }
}
