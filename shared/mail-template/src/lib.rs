//! The verification mail's template, which an admin edits in the dashboard
//! (`verification.template_changed`) and the mailer renders for every code.
//!
//! A template has four parts per language (subject, greeting, instructions, footer) in Bahasa
//! Indonesia and English; the mail carries both, Indonesian first, because the customer's
//! language is not known. Parts hold plain text with placeholders: `{nama}` (the customer's
//! name), `{referensi}` (the order reference), `{kode}` (the one-time code) and
//! `{berlaku_sampai}` (when the code expires, WIB).
//!
//! - [`default_template`]: the text the mail had before templates were editable.
//! - [`validate`]: what an admin may save (every part bounded, only known placeholders, the
//!   code and the reference in the instructions of both languages).
//! - [`render`]: the subject, the plain-text part and the HTML part, every text escaped in HTML.
//!
//! Pure: no I/O.

mod render;
mod time;

pub use gadai_events::{MailTemplate, MailText};
pub use render::{RenderedMail, Vars, render, style};
pub use time::{WIB_SECONDS, format_wib, format_wib_en, wib};

/// The placeholders a template may use, as written in it.
pub const PLACEHOLDERS: [&str; 4] = ["{nama}", "{referensi}", "{kode}", "{berlaku_sampai}"];

/// The longest subject, in characters.
pub const SUBJECT_MAX_CHARS: usize = 150;
/// The longest greeting, instructions or footer, in characters.
pub const TEXT_MAX_CHARS: usize = 2_000;

/// A value a template stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{nama}`: the customer's name.
    Name,
    /// `{referensi}`: the order reference the customer gives the assistant.
    Reference,
    /// `{kode}`: the one-time code.
    Code,
    /// `{berlaku_sampai}`: when the code expires.
    ExpiresAt,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "nama" => Placeholder::Name,
            "referensi" => Placeholder::Reference,
            "kode" => Placeholder::Code,
            "berlaku_sampai" => Placeholder::ExpiresAt,
            _ => return None,
        })
    }

    /// As written in a template: `{kode}`.
    pub fn token(self) -> &'static str {
        match self {
            Placeholder::Name => PLACEHOLDERS[0],
            Placeholder::Reference => PLACEHOLDERS[1],
            Placeholder::Code => PLACEHOLDERS[2],
            Placeholder::ExpiresAt => PLACEHOLDERS[3],
        }
    }
}

/// A piece of a template's text: literal text, or a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Text(&'a str),
    Var(Placeholder),
}

/// Why a text's placeholders do not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PlaceholderProblem {
    /// `{something}` that is not one of [`PLACEHOLDERS`].
    Unknown(String),
    /// A `{` with no `}` after it.
    Unclosed,
}

/// Splits `text` into literal text and placeholders. A `{` always opens a placeholder; a `}`
/// outside one is text.
fn segments(text: &str) -> Result<Vec<Segment<'_>>, PlaceholderProblem> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Segment::Text(&rest[..open]));
        }
        let after = &rest[open + 1..];
        // A placeholder ends at the first `}`; another `{` or a line break first means it
        // was never closed.
        let end = after
            .find(['}', '{', '\n'])
            .filter(|&i| after.as_bytes()[i] == b'}')
            .ok_or(PlaceholderProblem::Unclosed)?;
        let name = &after[..end];
        let placeholder = Placeholder::parse(name)
            .ok_or_else(|| PlaceholderProblem::Unknown(format!("{{{name}}}")))?;
        out.push(Segment::Var(placeholder));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    Ok(out)
}

/// One part of a template that may not be saved as it is: where (`id.instructions`), why, and
/// the kind of problem (`value_error.placeholder_required`), as an API names a failing field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// `<language>.<part>`: `id.subject`, `en.instructions`, ...
    pub field: &'static str,
    pub message: String,
    pub kind: &'static str,
}

impl TemplateError {
    fn new(field: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        TemplateError {
            field,
            message: message.into(),
            kind,
        }
    }
}

/// The parts of a template a field path names, in a fixed order: Indonesian first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Greeting,
    Instructions,
    Footer,
}

const PARTS: [Part; 4] = [
    Part::Subject,
    Part::Greeting,
    Part::Instructions,
    Part::Footer,
];

impl Part {
    fn of(self, text: &MailText) -> &str {
        match self {
            Part::Subject => &text.subject,
            Part::Greeting => &text.greeting,
            Part::Instructions => &text.instructions,
            Part::Footer => &text.footer,
        }
    }

    fn path(self, language: Language) -> &'static str {
        match (language, self) {
            (Language::Id, Part::Subject) => "id.subject",
            (Language::Id, Part::Greeting) => "id.greeting",
            (Language::Id, Part::Instructions) => "id.instructions",
            (Language::Id, Part::Footer) => "id.footer",
            (Language::En, Part::Subject) => "en.subject",
            (Language::En, Part::Greeting) => "en.greeting",
            (Language::En, Part::Instructions) => "en.instructions",
            (Language::En, Part::Footer) => "en.footer",
        }
    }

    fn max_chars(self) -> usize {
        match self {
            Part::Subject => SUBJECT_MAX_CHARS,
            _ => TEXT_MAX_CHARS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Id,
    En,
}

impl Language {
    fn of(self, template: &MailTemplate) -> &MailText {
        match self {
            Language::Id => &template.id,
            Language::En => &template.en,
        }
    }
}

const LANGUAGES: [Language; 2] = [Language::Id, Language::En];

/// Every field of a template with its path, Indonesian first.
fn fields(template: &MailTemplate) -> impl Iterator<Item = (&'static str, Part, &str)> {
    LANGUAGES.into_iter().flat_map(move |language| {
        PARTS
            .into_iter()
            .map(move |part| (part.path(language), part, part.of(language.of(template))))
    })
}

/// Whether `template` may be saved; otherwise every failing field with its reason.
///
/// - Every part at most [`TEXT_MAX_CHARS`] characters, the subject at most
///   [`SUBJECT_MAX_CHARS`], on one line and not blank. No control characters but line breaks
///   and tabs.
/// - Only the four [`PLACEHOLDERS`]; a `{` always opens one.
/// - The instructions of both languages hold `{kode}` and `{referensi}`: the customer gives the
///   assistant both (a check names its order; README, "Verification rules").
/// - `{kode}` never in the subject: subjects show in notifications and in mail servers' logs,
///   and the code must appear nowhere but in the mail's body.
pub fn validate(template: &MailTemplate) -> Result<(), Vec<TemplateError>> {
    let mut errors = Vec::new();
    for (field, part, text) in fields(template) {
        if let Some(error) = check_field(field, part, text) {
            errors.push(error);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The first problem of one field, if any.
fn check_field(field: &'static str, part: Part, text: &str) -> Option<TemplateError> {
    let chars = text.chars().count();
    if chars > part.max_chars() {
        return Some(TemplateError::new(
            field,
            "value_error.too_long",
            format!("at most {} characters (this has {chars})", part.max_chars()),
        ));
    }
    if part == Part::Subject {
        if text.contains(['\n', '\r']) {
            return Some(TemplateError::new(
                field,
                "value_error.single_line",
                "the subject must be a single line",
            ));
        }
        if text.trim().is_empty() {
            return Some(TemplateError::new(
                field,
                "value_error.missing",
                "the subject must not be empty",
            ));
        }
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Some(TemplateError::new(
            field,
            "value_error.control_character",
            "must not contain control characters",
        ));
    }
    let used = match segments(text) {
        Ok(segments) => segments,
        Err(PlaceholderProblem::Unknown(token)) => {
            return Some(TemplateError::new(
                field,
                "value_error.placeholder_unknown",
                format!(
                    "unknown placeholder {token}: use {}",
                    PLACEHOLDERS.join(", ")
                ),
            ));
        }
        Err(PlaceholderProblem::Unclosed) => {
            return Some(TemplateError::new(
                field,
                "value_error.placeholder_unclosed",
                format!(
                    "a {{ without its }}: placeholders are written {}",
                    PLACEHOLDERS.join(", ")
                ),
            ));
        }
    };
    let uses = |p: Placeholder| used.contains(&Segment::Var(p));
    match part {
        Part::Subject if uses(Placeholder::Code) => Some(TemplateError::new(
            field,
            "value_error.placeholder_not_allowed",
            "{kode} may not be in the subject: subjects show in notifications and mail logs",
        )),
        Part::Instructions if !uses(Placeholder::Code) => Some(TemplateError::new(
            field,
            "value_error.placeholder_required",
            "must contain {kode}: the instructions carry the customer's code",
        )),
        Part::Instructions if !uses(Placeholder::Reference) => Some(TemplateError::new(
            field,
            "value_error.placeholder_required",
            "must contain {referensi}: the customer gives the assistant the reference and the code",
        )),
        _ => None,
    }
}

/// The fields (`id.greeting`, ...) whose text differs between two templates, Indonesian first.
pub fn changed_fields(before: &MailTemplate, after: &MailTemplate) -> Vec<&'static str> {
    fields(before)
        .zip(fields(after))
        .filter(|((_, _, a), (_, _, b))| a != b)
        .map(|((field, _, _), _)| field)
        .collect()
}

/// The template the mail uses until an admin changes it: the mail as it was before templates
/// were editable, and its English translation.
pub fn default_template() -> MailTemplate {
    MailTemplate {
        id: MailText {
            subject: "Kode Verifikasi Peminjaman Anda".into(),
            greeting: "Halo {nama},\n\n\
                       Terima kasih telah mengajukan gadai elektronik di Pegadaian."
                .into(),
            instructions: "Nomor referensi pengajuan: {referensi}\n\n\
                           Kode verifikasi Anda:\n\n\
                           {kode}\n\n\
                           Cara menggunakan: kembali ke percakapan dengan asisten virtual \
                           Pegadaian, lalu berikan KEDUANYA kepada asisten: nomor referensi \
                           pengajuan ({referensi}) dan kode verifikasi di atas. Kode saja tidak \
                           cukup. Asisten akan memverifikasi pengajuan Anda.\n\n\
                           Kode berlaku hingga {berlaku_sampai} dan hanya dapat digunakan satu \
                           kali."
                .into(),
            footer: "Jangan berikan kode ini kepada siapa pun selain asisten resmi Pegadaian. \
                     Petugas kami tidak pernah meminta kode ini melalui telepon.\n\n\
                     Layanan Gadai Elektronik Pegadaian\n\
                     Email ini dikirim otomatis; mohon tidak membalas email ini."
                .into(),
        },
        en: MailText {
            subject: "Your Loan Verification Code".into(),
            greeting: "Hello {nama},\n\n\
                       Thank you for applying for an electronics pawn loan at Pegadaian."
                .into(),
            instructions: "Application reference number: {referensi}\n\n\
                           Your verification code:\n\n\
                           {kode}\n\n\
                           How to use it: go back to your chat with the Pegadaian virtual \
                           assistant and give the assistant BOTH the application reference \
                           number ({referensi}) and the verification code above. The code alone \
                           is not enough. The assistant will verify your application.\n\n\
                           The code is valid until {berlaku_sampai} and can be used only once."
                .into(),
            footer: "Never give this code to anyone other than Pegadaian's official assistant. \
                     Our staff never ask for this code by phone.\n\n\
                     Pegadaian Electronic Pawn Service\n\
                     This e-mail was sent automatically; please do not reply to it."
                .into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(template: &MailTemplate) -> Vec<(&'static str, &'static str)> {
        validate(template)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.kind))
            .collect()
    }

    #[test]
    fn the_default_template_is_valid() {
        assert_eq!(validate(&default_template()), Ok(()));
    }

    #[test]
    fn an_unknown_placeholder_is_refused_and_named() {
        let mut t = default_template();
        t.id.greeting = "Halo {nama_lengkap},".into();
        let errors = validate(&t).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "id.greeting");
        assert_eq!(errors[0].kind, "value_error.placeholder_unknown");
        assert!(errors[0].message.contains("{nama_lengkap}"), "{errors:?}");
    }

    #[test]
    fn a_brace_that_never_closes_is_refused() {
        for text in ["Halo {nama", "Halo {nama {kode}", "Halo {na\nma}"] {
            let mut t = default_template();
            t.en.footer = text.into();
            assert_eq!(
                errors_of(&t),
                [("en.footer", "value_error.placeholder_unclosed")],
                "{text:?}"
            );
        }
        // A closing brace alone is text.
        let mut t = default_template();
        t.en.footer = "Pegadaian :-}".into();
        assert_eq!(validate(&t), Ok(()));
    }

    #[test]
    fn the_code_cannot_be_removed_from_either_language() {
        let mut t = default_template();
        t.id.instructions = "Nomor referensi: {referensi}".into();
        t.en.instructions = "Reference {referensi}, code: AB3D5F".into();
        assert_eq!(
            errors_of(&t),
            [
                ("id.instructions", "value_error.placeholder_required"),
                ("en.instructions", "value_error.placeholder_required"),
            ]
        );
        assert!(
            validate(&t).unwrap_err()[0].message.contains("{kode}"),
            "the message names the placeholder"
        );
        // Elsewhere in the mail does not count: the instructions are where the code is given.
        t.id.footer = "{kode}".into();
        assert!(errors_of(&t).contains(&("id.instructions", "value_error.placeholder_required")));
    }

    #[test]
    fn the_reference_is_required_in_the_instructions_too() {
        let mut t = default_template();
        t.en.instructions = "Your code: {kode}".into();
        let errors = validate(&t).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "en.instructions");
        assert!(errors[0].message.contains("{referensi}"), "{errors:?}");
    }

    #[test]
    fn the_code_never_goes_in_the_subject() {
        let mut t = default_template();
        t.id.subject = "Kode Anda: {kode}".into();
        assert_eq!(
            errors_of(&t),
            [("id.subject", "value_error.placeholder_not_allowed")]
        );
        // The other placeholders may.
        t.id.subject = "Kode untuk {nama} ({referensi})".into();
        assert_eq!(validate(&t), Ok(()));
    }

    #[test]
    fn lengths_are_bounded_in_characters() {
        let mut t = default_template();
        t.id.subject = "é".repeat(SUBJECT_MAX_CHARS);
        t.en.footer = "x".repeat(TEXT_MAX_CHARS);
        assert_eq!(validate(&t), Ok(()), "the limits themselves are allowed");
        t.id.subject.push('é');
        t.en.footer.push('x');
        t.en.greeting = "ü".repeat(TEXT_MAX_CHARS + 1);
        assert_eq!(
            errors_of(&t),
            [
                ("id.subject", "value_error.too_long"),
                ("en.greeting", "value_error.too_long"),
                ("en.footer", "value_error.too_long"),
            ]
        );
        assert!(
            validate(&t).unwrap_err()[0].message.contains("150"),
            "the message says the limit"
        );
    }

    #[test]
    fn the_subject_is_one_line_and_not_blank() {
        for (subject, kind) in [
            ("Kode\nVerifikasi", "value_error.single_line"),
            ("Kode\r\nVerifikasi", "value_error.single_line"),
            ("   ", "value_error.missing"),
            ("", "value_error.missing"),
            ("Kode\u{7}", "value_error.control_character"),
        ] {
            let mut t = default_template();
            t.en.subject = subject.into();
            assert_eq!(errors_of(&t), [("en.subject", kind)], "{subject:?}");
        }
    }

    #[test]
    fn every_failing_field_is_named_at_once() {
        let mut t = default_template();
        t.id.subject = "a\nb".into();
        t.id.greeting = "{x}".into();
        t.en.instructions = String::new();
        assert_eq!(
            errors_of(&t),
            [
                ("id.subject", "value_error.single_line"),
                ("id.greeting", "value_error.placeholder_unknown"),
                ("en.instructions", "value_error.placeholder_required"),
            ]
        );
    }

    #[test]
    fn changed_fields_name_what_differs() {
        let before = default_template();
        let mut after = before.clone();
        assert!(changed_fields(&before, &after).is_empty());
        after.en.footer.push('!');
        after.id.greeting = "Halo {nama}!".into();
        assert_eq!(
            changed_fields(&before, &after),
            ["id.greeting", "en.footer"]
        );
    }
}
