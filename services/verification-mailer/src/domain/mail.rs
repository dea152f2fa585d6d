//! The verification e-mail, in Bahasa Indonesia: HTML with a plain-text alternative.

use chrono::{DateTime, FixedOffset, Utc};
use gadai_events::check::Reference;
use uuid::Uuid;

use super::Code;

/// The seed's subject line.
pub const SUBJECT: &str = "Kode Verifikasi Peminjaman Anda";

/// The parts of one verification e-mail.
pub struct VerificationMail {
    pub subject: &'static str,
    pub text: String,
    pub html: String,
}

/// `24 November 2026 pukul 21.05 WIB`: Jakarta time, Indonesian month names.
pub fn format_wib(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let wib = at.with_timezone(&FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset"));
    use chrono::{Datelike, Timelike};
    format!(
        "{} {} {} pukul {:02}.{:02} WIB",
        wib.day(),
        MONTHS[wib.month0() as usize],
        wib.year(),
        wib.hour(),
        wib.minute()
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Composes the e-mail for one code.
pub fn compose(
    name: &str,
    order_id: Uuid,
    code: &Code,
    expires_at: DateTime<Utc>,
) -> VerificationMail {
    let reference = Reference::of(order_id).to_string();
    let until = format_wib(expires_at);
    let code = code.reveal();
    let text = format!(
        "Halo {name},\n\n\
         Terima kasih telah mengajukan gadai elektronik di Pegadaian.\n\n\
         Nomor referensi pengajuan: {reference}\n\n\
         Kode verifikasi Anda:\n\n    {code}\n\n\
         Cara menggunakan: kembali ke percakapan dengan asisten virtual Pegadaian, lalu berikan \
         KEDUANYA kepada asisten: nomor referensi pengajuan ({reference}) dan kode verifikasi \
         di atas. Kode saja tidak cukup. Asisten akan memverifikasi pengajuan Anda.\n\n\
         Kode berlaku hingga {until} dan hanya dapat digunakan satu kali.\n\n\
         Jangan berikan kode ini kepada siapa pun selain asisten resmi Pegadaian. Petugas kami \
         tidak pernah meminta kode ini melalui telepon.\n\n\
         --\nLayanan Gadai Elektronik Pegadaian\n\
         Email ini dikirim otomatis; mohon tidak membalas email ini.\n"
    );
    let (name_html, reference_html) = (escape_html(name), escape_html(&reference));
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="id">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{SUBJECT}</title></head>
<body style="margin:0;padding:24px;background:#f4f6f5;font-family:Arial,Helvetica,sans-serif;color:#1f2933">
  <div style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
    <h1 style="margin:0 0 16px;font-size:20px;color:#00693e">Kode Verifikasi Peminjaman Anda</h1>
    <p>Halo {name_html},</p>
    <p>Terima kasih telah mengajukan gadai elektronik di Pegadaian.</p>
    <p>Nomor referensi pengajuan: <strong>{reference_html}</strong></p>
    <p style="margin:24px 0 8px">Kode verifikasi Anda:</p>
    <p style="margin:0 0 24px;font-size:36px;font-weight:bold;letter-spacing:8px;font-family:'Courier New',monospace;color:#00693e">{code}</p>
    <p><strong>Cara menggunakan:</strong> kembali ke percakapan dengan asisten virtual Pegadaian, lalu berikan <strong>keduanya</strong> kepada asisten: nomor referensi pengajuan (<strong>{reference_html}</strong>) dan kode verifikasi di atas. Kode saja tidak cukup. Asisten akan memverifikasi pengajuan Anda.</p>
    <p>Kode berlaku hingga <strong>{until}</strong> dan hanya dapat digunakan satu kali.</p>
    <p style="color:#52606d;font-size:13px">Jangan berikan kode ini kepada siapa pun selain asisten resmi Pegadaian. Petugas kami tidak pernah meminta kode ini melalui telepon.</p>
    <hr style="border:none;border-top:1px solid #e4e7eb;margin:24px 0">
    <p style="color:#7b8794;font-size:12px;margin:0">Layanan Gadai Elektronik Pegadaian<br>Email ini dikirim otomatis; mohon tidak membalas email ini.</p>
  </div>
</body>
</html>
"#
    );
    VerificationMail {
        subject: SUBJECT,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_carries_the_code_reference_and_expiry_in_both_parts() {
        let code = Code::parse("AB3D5F").unwrap();
        let order = Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let expires = DateTime::parse_from_rfc3339("2026-11-24T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mail = compose("Siti <Rahma>", order, &code, expires);
        assert_eq!(mail.subject, "Kode Verifikasi Peminjaman Anda");
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("AB3D5F"));
            assert!(part.contains("0193A1B2"));
            assert!(part.contains("24 November 2026 pukul 21.05 WIB"));
            assert!(part.contains("Kode berlaku hingga"));
        }
        assert!(
            mail.text
                .contains("berikan KEDUANYA kepada asisten: nomor referensi pengajuan (0193A1B2) dan kode verifikasi"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains(
            "berikan <strong>keduanya</strong> kepada asisten: nomor referensi pengajuan (<strong>0193A1B2</strong>) dan kode verifikasi"
        ));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("Kode saja tidak cukup"));
        }
        assert!(
            mail.html.contains("Siti &lt;Rahma&gt;"),
            "names are escaped in HTML"
        );
        assert!(mail.html.contains(r#"lang="id""#));
    }

    #[test]
    fn the_printed_reference_is_the_one_checks_accept() {
        let code = Code::parse("AB3D5F").unwrap();
        for _ in 0..50 {
            let order = Uuid::now_v7();
            let mail = compose("Rina", order, &code, Utc::now());
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
