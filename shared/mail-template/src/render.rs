//! A template filled in for one code: the subject, the plain-text part and the HTML part.
//!
//! Both parts carry the Indonesian text first, then the English. A part's text is split into
//! paragraphs at blank lines; in HTML the line breaks inside a paragraph become `<br>`. A
//! paragraph that is only `{kode}` shows the code large and spaced (indented in the text part,
//! as the mail always had it); elsewhere the code, the reference and the expiry are bold. Every
//! text is escaped in HTML: the template's, the customer's name, the values.

use chrono::{DateTime, Utc};

use crate::{MailTemplate, MailText, Placeholder, Segment, format_wib, format_wib_en, segments};

/// The values one mail fills in.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// The customer's name (`{nama}`).
    pub name: &'a str,
    /// The order reference printed in the mail (`{referensi}`).
    pub reference: &'a str,
    /// The one-time code (`{kode}`).
    pub code: &'a str,
    /// When the code expires (`{berlaku_sampai}`, written in WIB).
    pub expires_at: DateTime<Utc>,
}

/// One verification mail, ready for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The Indonesian subject, then the English one when it differs: `Kode ... / Your ...`.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The HTML's design: every `style` attribute the mail uses, and nothing else. Constant, so a
/// page that shows the mail may allow exactly these (dashboard-api's preview lists their hashes
/// in its Content-Security-Policy).
pub mod style {
    pub const BODY: &str = "margin:0;padding:24px;background:#f4f6f5;font-family:Arial,Helvetica,sans-serif;color:#1f2933";
    pub const CARD: &str =
        "max-width:520px;margin:0 auto 24px;background:#ffffff;border-radius:8px;padding:32px";
    pub const HEADING: &str = "margin:0 0 16px;font-size:20px;color:#00693e";
    pub const CODE_BLOCK: &str = "margin:0 0 24px;font-size:36px;font-weight:bold;letter-spacing:8px;font-family:'Courier New',monospace;color:#00693e";
    pub const CODE_INLINE: &str =
        "font-family:'Courier New',monospace;letter-spacing:2px;color:#00693e";
    pub const RULE: &str = "border:none;border-top:1px solid #e4e7eb;margin:24px 0";
    pub const FOOTER: &str = "color:#52606d;font-size:13px";

    /// All of them.
    pub const ALL: [&str; 7] = [BODY, CARD, HEADING, CODE_BLOCK, CODE_INLINE, RULE, FOOTER];
}

/// Between the Indonesian and the English text in the plain-text part.
const TEXT_SEPARATOR: &str = "------------------------------------------------------------";

/// One language's values, as that language writes them.
struct Values<'a> {
    name: &'a str,
    reference: &'a str,
    code: &'a str,
    until: String,
}

impl Values<'_> {
    fn of(&self, placeholder: Placeholder) -> &str {
        match placeholder {
            Placeholder::Name => self.name,
            Placeholder::Reference => self.reference,
            Placeholder::Code => self.code,
            Placeholder::ExpiresAt => &self.until,
        }
    }
}

/// Fills `template` in for one mail. Meant for a template [`crate::validate`] accepted; text
/// that is not (an unknown placeholder) is shown as written.
pub fn render(template: &MailTemplate, vars: &Vars<'_>) -> RenderedMail {
    let id = Values {
        name: vars.name,
        reference: vars.reference,
        code: vars.code,
        until: format_wib(vars.expires_at),
    };
    let en = Values {
        until: format_wib_en(vars.expires_at),
        ..id
    };
    let (subject_id, subject_en) = (
        subject(&template.id.subject, &id),
        subject(&template.en.subject, &en),
    );
    let subject = if subject_id == subject_en {
        subject_id.clone()
    } else {
        format!("{subject_id} / {subject_en}")
    };
    let text = format!(
        "{}\n\n{TEXT_SEPARATOR}\n\n{}\n",
        text_section(&template.id, &id),
        text_section(&template.en, &en)
    );
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="id">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{title}</title></head>
<body style="{body}">
{card_id}{card_en}</body>
</html>
"#,
        title = escape(&subject),
        body = style::BODY,
        card_id = html_card("id", &subject_id, &template.id, &id),
        card_en = html_card("en", &subject_en, &template.en, &en),
    );
    RenderedMail {
        subject,
        text,
        html,
    }
}

/// A subject filled in, on one line whatever the values hold.
fn subject(template: &str, values: &Values<'_>) -> String {
    let filled = fill(template, |s| match s {
        Segment::Text(t) => t.to_owned(),
        Segment::Var(p) => values.of(p).to_owned(),
    });
    filled
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A line of template text with each segment written by `write`; a line whose placeholders do
/// not parse is written as text.
fn fill(line: &str, mut write: impl FnMut(Segment<'_>) -> String) -> String {
    match segments(line) {
        Ok(segments) => segments.into_iter().map(write).collect(),
        Err(_) => write(Segment::Text(line)),
    }
}

/// The paragraphs of a part: runs of lines between blank lines, each line without trailing
/// spaces.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current = Vec::new();
    for line in normalized.split('\n') {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.trim_end().to_owned());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A paragraph that is only the code: shown large.
fn is_code_block(paragraph: &[String]) -> bool {
    matches!(paragraph, [only] if only.trim() == Placeholder::Code.token())
}

fn text_section(text: &MailText, values: &Values<'_>) -> String {
    [&text.greeting, &text.instructions, &text.footer]
        .into_iter()
        .flat_map(|part| paragraphs(part))
        .map(|paragraph| {
            if is_code_block(&paragraph) {
                format!("    {}", values.code)
            } else {
                paragraph
                    .iter()
                    .map(|line| {
                        fill(line, |s| match s {
                            Segment::Text(t) => t.to_owned(),
                            Segment::Var(p) => values.of(p).to_owned(),
                        })
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn html_card(lang: &str, subject: &str, text: &MailText, values: &Values<'_>) -> String {
    let mut out = format!(
        "  <div lang=\"{lang}\" style=\"{card}\">\n    <h1 style=\"{heading}\">{subject}</h1>\n",
        card = style::CARD,
        heading = style::HEADING,
        subject = escape(subject),
    );
    for part in [&text.greeting, &text.instructions] {
        html_paragraphs(&mut out, part, values, None);
    }
    if !text.footer.trim().is_empty() {
        out.push_str(&format!("    <hr style=\"{}\">\n", style::RULE));
        html_paragraphs(&mut out, &text.footer, values, Some(style::FOOTER));
    }
    out.push_str("  </div>\n");
    out
}

fn html_paragraphs(out: &mut String, part: &str, values: &Values<'_>, style: Option<&str>) {
    for paragraph in paragraphs(part) {
        if is_code_block(&paragraph) {
            out.push_str(&format!(
                "    <p style=\"{}\">{}</p>\n",
                style::CODE_BLOCK,
                escape(values.code)
            ));
            continue;
        }
        let lines: Vec<String> = paragraph
            .iter()
            .map(|line| fill(line, |s| html_segment(s, values)))
            .collect();
        match style {
            Some(style) => out.push_str(&format!("    <p style=\"{style}\">")),
            None => out.push_str("    <p>"),
        }
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
}

fn html_segment(segment: Segment<'_>, values: &Values<'_>) -> String {
    match segment {
        Segment::Text(t) => escape(t),
        Segment::Var(Placeholder::Name) => escape(values.name),
        Segment::Var(Placeholder::Code) => format!(
            "<strong style=\"{}\">{}</strong>",
            style::CODE_INLINE,
            escape(values.code)
        ),
        Segment::Var(p) => format!("<strong>{}</strong>", escape(values.of(p))),
    }
}

/// Text as HTML character data or an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_template;

    fn vars<'a>(name: &'a str) -> Vars<'a> {
        Vars {
            name,
            reference: "0193A1B2",
            code: "AB3D5F",
            expires_at: DateTime::parse_from_rfc3339("2026-11-24T14:05:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn the_default_template_renders_the_mail_as_it_was() {
        let mail = render(&default_template(), &vars("Siti Rahma"));
        assert_eq!(
            mail.subject,
            "Kode Verifikasi Peminjaman Anda / Your Loan Verification Code"
        );
        // The Indonesian text as the mail always had it, then the English.
        let indonesian = "Halo Siti Rahma,\n\n\
             Terima kasih telah mengajukan gadai elektronik di Pegadaian.\n\n\
             Nomor referensi pengajuan: 0193A1B2\n\n\
             Kode verifikasi Anda:\n\n    AB3D5F\n\n\
             Cara menggunakan: kembali ke percakapan dengan asisten virtual Pegadaian, lalu \
             berikan KEDUANYA kepada asisten: nomor referensi pengajuan (0193A1B2) dan kode \
             verifikasi di atas. Kode saja tidak cukup. Asisten akan memverifikasi pengajuan \
             Anda.\n\n\
             Kode berlaku hingga 24 November 2026 pukul 21.05 WIB dan hanya dapat digunakan \
             satu kali.\n\n\
             Jangan berikan kode ini kepada siapa pun selain asisten resmi Pegadaian. Petugas \
             kami tidak pernah meminta kode ini melalui telepon.\n\n\
             Layanan Gadai Elektronik Pegadaian\n\
             Email ini dikirim otomatis; mohon tidak membalas email ini.\n\n";
        assert!(mail.text.starts_with(indonesian), "{}", mail.text);
        let english = &mail.text[indonesian.len()..];
        assert!(english.starts_with(TEXT_SEPARATOR));
        for expected in [
            "Hello Siti Rahma,",
            "Application reference number: 0193A1B2",
            "Your verification code:\n\n    AB3D5F\n",
            "give the assistant BOTH the application reference number (0193A1B2)",
            "valid until 24 November 2026 at 21:05 WIB (UTC+7)",
        ] {
            assert!(english.contains(expected), "{expected:?} in {english}");
        }

        let html = &mail.html;
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"id\">"));
        let (id, en) = html.split_once("<div lang=\"en\"").expect("two languages");
        assert!(id.contains("<div lang=\"id\""));
        for part in [id, en] {
            // The code large and in monospace, the reference and expiry bold.
            assert!(part.contains(&format!("<p style=\"{}\">AB3D5F</p>", style::CODE_BLOCK)));
            assert!(style::CODE_BLOCK.contains("font-size:36px"));
            assert!(style::CODE_BLOCK.contains("monospace"));
            assert!(part.contains("<strong>0193A1B2</strong>"));
        }
        assert!(id.contains("<p>Nomor referensi pengajuan: <strong>0193A1B2</strong></p>"));
        assert!(
            id.contains("Kode berlaku hingga <strong>24 November 2026 pukul 21.05 WIB</strong>")
        );
        assert!(id.contains("berikan KEDUANYA kepada asisten: nomor referensi pengajuan (<strong>0193A1B2</strong>) dan kode verifikasi"));
        assert!(id.contains(&format!(
            "<p style=\"{}\">Layanan Gadai Elektronik Pegadaian<br>\nEmail ini dikirim otomatis; mohon tidak membalas email ini.</p>",
            style::FOOTER
        )));
        assert!(en.contains("<strong>24 November 2026 at 21:05 WIB (UTC+7)</strong>"));
        assert!(html.contains(
            "<title>Kode Verifikasi Peminjaman Anda / Your Loan Verification Code</title>"
        ));
    }

    #[test]
    fn script_in_the_greeting_and_in_the_name_is_escaped() {
        let mut t = default_template();
        t.id.greeting = "<script>alert('x')</script> Halo {nama} & <b>selamat</b>".into();
        let mail = render(&t, &vars("Siti <script>alert(1)</script>"));
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(!mail.html.contains("<b>"));
        assert!(mail.html.contains(
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Halo Siti &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;selamat&lt;/b&gt;"
        ));
        // The plain-text part keeps the text as written.
        assert!(mail.text.contains(
            "<script>alert('x')</script> Halo Siti <script>alert(1)</script> & <b>selamat</b>"
        ));
    }

    #[test]
    fn every_part_and_value_is_escaped_in_html() {
        let mut t = default_template();
        t.en.subject = "Code \"{referensi}\" <i>".into();
        t.en.footer = "a < b".into();
        t.en.instructions = "Ref {referensi}, code {kode}, until {berlaku_sampai} <hr>".into();
        let values = Vars {
            reference: "<R&D>",
            code: "<K>",
            ..vars("N")
        };
        let mail = render(&t, &values);
        let en = mail.html.split_once("<div lang=\"en\"").unwrap().1;
        assert!(en.contains("<h1 style=\"margin:0 0 16px;font-size:20px;color:#00693e\">Code &quot;&lt;R&amp;D&gt;&quot; &lt;i&gt;</h1>"), "{en}");
        assert!(en.contains("a &lt; b"));
        assert!(en.contains("Ref <strong>&lt;R&amp;D&gt;</strong>, code <strong style=\"font-family:'Courier New',monospace;letter-spacing:2px;color:#00693e\">&lt;K&gt;</strong>"));
        assert!(en.contains("&lt;hr&gt;"));
        assert!(mail.html.contains("<title>Kode Verifikasi Peminjaman Anda / Code &quot;&lt;R&amp;D&gt;&quot; &lt;i&gt;</title>"));
    }

    #[test]
    fn line_breaks_become_paragraphs_and_br() {
        let mut t = default_template();
        t.id.instructions = "Satu\r\ndua\n\n\n  \nTiga {referensi}\n\n  {kode}  \n".into();
        let mail = render(&t, &vars("N"));
        let id = mail.html.split_once("<div lang=\"en\"").unwrap().0;
        assert!(id.contains("<p>Satu<br>\ndua</p>\n    <p>Tiga <strong>0193A1B2</strong></p>\n    <p style=\"margin:0 0 24px;"), "{id}");
        assert!(
            mail.text
                .contains("Satu\ndua\n\nTiga 0193A1B2\n\n    AB3D5F\n\n"),
            "{}",
            mail.text
        );
    }

    #[test]
    fn every_style_the_html_uses_is_listed() {
        let mut t = default_template();
        t.id.instructions.push_str(" {kode} inline");
        let html = render(&t, &vars("N")).html;
        let mut used: Vec<&str> = html
            .split("style=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        used.sort();
        used.dedup();
        let mut listed = style::ALL.to_vec();
        listed.sort();
        assert_eq!(used, listed);
    }

    #[test]
    fn the_subject_stays_on_one_line_and_is_said_once_when_both_languages_agree() {
        let mut t = default_template();
        t.id.subject = "Kode untuk {nama}".into();
        t.en.subject = "Kode untuk {nama}".into();
        let mail = render(&t, &vars("Budi\r\nBcc: x@example.com"));
        assert_eq!(mail.subject, "Kode untuk Budi  Bcc: x@example.com");
    }

    #[test]
    fn empty_greeting_and_footer_leave_no_empty_paragraph() {
        let mut t = default_template();
        t.id.greeting = String::new();
        t.id.footer = "  ".into();
        let mail = render(&t, &vars("N"));
        let id = mail.html.split_once("<div lang=\"en\"").unwrap().0;
        assert!(!id.contains("<p></p>"));
        assert!(!id.contains("<hr"));
        assert!(
            mail.text
                .starts_with("Nomor referensi pengajuan: 0193A1B2\n\n")
        );
    }
}
