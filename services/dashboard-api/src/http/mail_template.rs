//! The verification mail's template (admins only):
//!
//! - `GET /dashboard/mail-template`: the template the next mail uses (the default until an admin
//!   saves one), who saved it and when, and the placeholders.
//! - `PUT /dashboard/mail-template`: checks it (`gadai-mail-template`'s rules; 422 names each
//!   failing field, `id.instructions`), publishes `verification.template_changed` with the
//!   admin as actor and answers 202 after the PubAck; the mailer uses it for the next mail.
//! - `POST /dashboard/mail-template/preview`: the mail a template makes, with sample values, for
//!   the editor's live preview. Publishes nothing.
//! - `GET /dashboard/mail-template/history`: the saved templates, newest first, each with the
//!   fields it changed.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use gadai_events::{Event, EventKind, MailTemplate, MailText, TemplateChanged};
use gadai_http::{ApiError, FieldError};
use gadai_mail_template::{
    PLACEHOLDERS, SUBJECT_MAX_CHARS, TEXT_MAX_CHARS, TemplateError, Vars, changed_fields,
    default_template, render, validate,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AppState, auth::Operator, openapi::Error, openapi::ValidationError};
use crate::read_model::mail_template as stored;

/// A template is eight texts of at most 2,000 characters (4 bytes each in UTF-8, at most): a
/// body beyond this is refused before it is read (the routes' `DefaultBodyLimit`).
pub const BODY_LIMIT: usize = 128 * 1024;

/// The history's length.
const HISTORY_LIMIT: i64 = 50;

/// One language's parts of the mail. Placeholders: `{nama}`, `{referensi}`, `{kode}`,
/// `{berlaku_sampai}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = MailText)]
pub struct TextBody {
    /// One line; `{kode}` is not allowed here.
    #[schema(max_length = 150)]
    pub subject: String,
    #[schema(max_length = 2000)]
    pub greeting: String,
    /// Must contain `{kode}` and `{referensi}`. A paragraph that is only `{kode}` shows the code large.
    #[schema(max_length = 2000)]
    pub instructions: String,
    #[schema(max_length = 2000)]
    pub footer: String,
}

/// The verification mail's editable text: Bahasa Indonesia (`id`) and English (`en`); the mail
/// carries both, Indonesian first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = MailTemplate)]
pub struct TemplateBody {
    pub id: TextBody,
    pub en: TextBody,
}

impl From<TemplateBody> for MailTemplate {
    fn from(body: TemplateBody) -> Self {
        let text = |t: TextBody| MailText {
            subject: t.subject,
            greeting: t.greeting,
            instructions: t.instructions,
            footer: t.footer,
        };
        MailTemplate {
            id: text(body.id),
            en: text(body.en),
        }
    }
}

impl From<MailTemplate> for TemplateBody {
    fn from(template: MailTemplate) -> Self {
        let text = |t: MailText| TextBody {
            subject: t.subject,
            greeting: t.greeting,
            instructions: t.instructions,
            footer: t.footer,
        };
        TemplateBody {
            id: text(template.id),
            en: text(template.en),
        }
    }
}

/// The template the next mail uses.
#[derive(Serialize, ToSchema)]
pub struct CurrentTemplate {
    pub template: TemplateBody,
    /// When an admin saved it; null while the default is in use.
    pub changed_at: Option<DateTime<Utc>>,
    /// The admin who saved it (username); null while the default is in use.
    pub changed_by: Option<String>,
    /// The placeholders a template may use, as written: `{nama}`, `{referensi}`, `{kode}`, `{berlaku_sampai}`.
    pub placeholders: Vec<String>,
    /// The longest subject, in characters.
    pub subject_max_chars: usize,
    /// The longest greeting, instructions or footer, in characters.
    pub text_max_chars: usize,
    /// The text the mail had before any change.
    pub default_template: TemplateBody,
}

/// A template on the stream.
#[derive(Serialize, ToSchema)]
pub struct SavedTemplate {
    pub message: &'static str,
    pub template: TemplateBody,
}

/// The mail a template makes with sample values (customer "Budi Santoso", code `AB3D5F`).
#[derive(Serialize, ToSchema)]
pub struct MailPreview {
    pub subject: String,
    pub text: String,
    /// The whole HTML document, every text escaped; show it in a sandboxed frame.
    pub html: String,
}

/// One saved template.
#[derive(Serialize, ToSchema)]
pub struct TemplateChange {
    /// Its stream sequence.
    pub seq: i64,
    pub changed_at: DateTime<Utc>,
    /// The admin who saved it (username).
    pub changed_by: String,
    /// The fields that differ from the template before it (the default, for the first): `id.greeting`, `en.footer`, ...
    pub changed_fields: Vec<String>,
    pub template: TemplateBody,
}

/// The template's failing fields as the API names them: `["body", "id", "instructions"]`.
fn refused(errors: Vec<TemplateError>) -> ApiError {
    ApiError::Validation(
        errors
            .into_iter()
            .map(|e| {
                let path: Vec<serde_json::Value> = e.field.split('.').map(Into::into).collect();
                FieldError::at(&path, &e.message, e.kind)
            })
            .collect(),
    )
}

/// The body, parsed and checked.
fn parse(body: Result<Json<TemplateBody>, JsonRejection>) -> Result<MailTemplate, ApiError> {
    let Json(body) = body?;
    let template = MailTemplate::from(body);
    validate(&template).map_err(refused)?;
    Ok(template)
}

#[utoipa::path(
    get,
    path = "/dashboard/mail-template",
    operation_id = "getMailTemplate",
    summary = "The verification mail's template the next mail uses (admin)",
    responses(
        (status = 200, description = "The template (the default until an admin saves one)", body = inline(CurrentTemplate)),
        (status = 401, description = "No session", body = Error),
        (status = 403, description = "Not an admin", body = Error),
    )
)]
pub async fn current(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<CurrentTemplate>, ApiError> {
    operator.require_admin()?;
    let saved = stored::current(&state.pool)
        .await
        .map_err(anyhow::Error::from)?;
    let (template, changed_at, changed_by) = match saved {
        Some(c) => (c.template, Some(c.changed_at), Some(c.changed_by)),
        None => (default_template(), None, None),
    };
    Ok(Json(CurrentTemplate {
        template: template.into(),
        changed_at,
        changed_by,
        placeholders: PLACEHOLDERS.iter().map(|p| p.to_string()).collect(),
        subject_max_chars: SUBJECT_MAX_CHARS,
        text_max_chars: TEXT_MAX_CHARS,
        default_template: default_template().into(),
    }))
}

#[utoipa::path(
    put,
    path = "/dashboard/mail-template",
    operation_id = "saveMailTemplate",
    summary = "Save the verification mail's template (admin; publishes verification.template_changed)",
    description = "Answers 202 once the change is on the stream; the mailer uses it for the next mail, and GET /dashboard/mail-template shows it once the dashboard's projection applied it (milliseconds).",
    request_body(content = inline(TemplateBody)),
    responses(
        (status = 202, description = "Saved", body = inline(SavedTemplate)),
        (status = 401, description = "No session", body = Error),
        (status = 403, description = "Not an admin, or missing X-CSRF-Token", body = Error),
        (status = 413, description = "Body over 128 KiB", body = Error),
        (status = 422, description = "Each failing field named (loc: body, id or en, the part)", body = ValidationError),
        (status = 503, description = "The stream did not acknowledge in time; retry", body = Error),
    )
)]
pub async fn save(
    State(state): State<AppState>,
    operator: Operator,
    body: Result<Json<TemplateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<SavedTemplate>), ApiError> {
    operator.require_admin()?;
    let template = parse(body)?;
    let event = Event::new(
        Uuid::nil(),
        operator.id.clone(),
        EventKind::TemplateChanged(TemplateChanged {
            template: template.clone(),
        }),
    );
    state.publish(&event).await?;
    tracing::info!(by = %operator.id, event_id = %event.id, "mail template changed");
    Ok((
        StatusCode::ACCEPTED,
        Json(SavedTemplate {
            message: "Template email disimpan",
            template: template.into(),
        }),
    ))
}

/// The sample values of the preview.
fn sample(now: DateTime<Utc>) -> Vars<'static> {
    Vars {
        name: "Budi Santoso",
        reference: "3F9A0C12",
        code: "AB3D5F",
        expires_at: now + chrono::Duration::hours(24),
    }
}

#[utoipa::path(
    post,
    path = "/dashboard/mail-template/preview",
    operation_id = "previewMailTemplate",
    summary = "The mail a template makes, with sample values (admin; publishes nothing)",
    request_body(content = inline(TemplateBody)),
    responses(
        (status = 200, description = "Subject, plain text and HTML", body = inline(MailPreview)),
        (status = 401, description = "No session", body = Error),
        (status = 403, description = "Not an admin, or missing X-CSRF-Token", body = Error),
        (status = 422, description = "Each failing field named", body = ValidationError),
    )
)]
pub async fn preview(
    operator: Operator,
    body: Result<Json<TemplateBody>, JsonRejection>,
) -> Result<Json<MailPreview>, ApiError> {
    operator.require_admin()?;
    let template = parse(body)?;
    let mail = render(&template, &sample(Utc::now()));
    Ok(Json(MailPreview {
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
    }))
}

#[utoipa::path(
    get,
    path = "/dashboard/mail-template/history",
    operation_id = "mailTemplateHistory",
    summary = "The saved templates, newest first (the last 50), with who changed which fields (admin)",
    responses(
        (status = 200, description = "Newest first", body = inline(Vec<TemplateChange>)),
        (status = 401, description = "No session", body = Error),
        (status = 403, description = "Not an admin", body = Error),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Vec<TemplateChange>>, ApiError> {
    operator.require_admin()?;
    // One more than shown: the oldest shown is compared with the one before it.
    let changes = stored::changes(&state.pool, HISTORY_LIMIT + 1)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(with_changed_fields(changes, HISTORY_LIMIT as usize)))
}

/// Each change (newest first) with the fields it changed, the first `shown` of them.
fn with_changed_fields(changes: Vec<stored::Change>, shown: usize) -> Vec<TemplateChange> {
    let default = default_template();
    let before: Vec<MailTemplate> = changes
        .iter()
        .skip(1)
        .map(|c| c.template.clone())
        .chain(std::iter::once(default))
        .collect();
    changes
        .into_iter()
        .zip(before)
        .take(shown)
        .map(|(change, before)| TemplateChange {
            seq: change.seq,
            changed_at: change.changed_at,
            changed_fields: changed_fields(&before, &change.template)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            changed_by: change.changed_by,
            template: change.template.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use sha2::{Digest, Sha256};

    use super::*;

    fn change(seq: i64, greeting: &str) -> stored::Change {
        let mut template = default_template();
        template.id.greeting = greeting.into();
        stored::Change {
            seq,
            changed_at: Utc::now(),
            changed_by: "admin".into(),
            template,
        }
    }

    #[test]
    fn each_change_names_the_fields_that_differ_from_the_one_before() {
        let default_greeting = default_template().id.greeting;
        let mut newest = change(9, "Halo {nama}!");
        newest.template.en.footer = "Bye".into();
        let list = with_changed_fields(
            vec![
                newest,
                change(5, "Halo {nama}!"),
                change(2, &default_greeting),
            ],
            2,
        );
        assert_eq!(list.len(), 2, "only the ones shown");
        assert_eq!(list[0].changed_fields, ["en.footer"]);
        assert_eq!(list[1].changed_fields, ["id.greeting"]);
        // The oldest is compared with the default.
        let first = with_changed_fields(vec![change(2, &default_greeting)], 5);
        assert!(first[0].changed_fields.is_empty());
    }

    /// The preview shows the mail's HTML in a sandboxed `srcdoc` frame, which inherits the
    /// app's Content-Security-Policy: the policy must allow exactly the mail's own `style`
    /// attributes.
    #[test]
    fn the_policy_allows_the_mails_styles_by_hash() {
        let policy = super::super::CONTENT_SECURITY_POLICY;
        let attr = policy
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("style-src-attr "))
            .expect("a style-src-attr directive");
        let mut allowed: Vec<&str> = attr.split_whitespace().skip(1).collect();
        assert_eq!(allowed.remove(0), "'unsafe-hashes'");
        let mut expected: Vec<String> = gadai_mail_template::style::ALL
            .iter()
            .map(|s| {
                let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
                format!("'sha256-{hash}'")
            })
            .collect();
        expected.sort();
        allowed.sort();
        assert_eq!(allowed, expected);
        // Nothing else is loosened.
        assert!(policy.contains("style-src 'self';"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
