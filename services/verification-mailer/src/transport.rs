//! Handing a mail to the SMTP server (or to a file), with lettre.
//!
//! Why a mail was not accepted leaves here without any e-mail address in it
//! ([`crate::domain::reason`]): SMTP replies echo the recipient, and the reason is published,
//! stored and logged.

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart, header::ContentType},
    transport::smtp::{authentication::Credentials, client::Tls, client::TlsParameters},
};
use secrecy::ExposeSecret;

use crate::{
    config::{MailSettings, TlsMode},
    domain::{mail::VerificationMail, reason::without_addresses},
};

/// Why a mail was not accepted, without e-mail addresses (make it with
/// [`SendError::transient`] or [`SendError::permanent`]).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: connection refused, timeout, a 4xx reply.
    #[error("transient: {0}")]
    Transient(String),
    /// Will not work however often it is tried: a 5xx reply, a bad address.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        SendError::Transient(without_addresses(&reason.to_string()))
    }

    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        SendError::Permanent(without_addresses(&reason.to_string()))
    }
}

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        Ok(match settings {
            MailSettings::Files { dir } => {
                std::fs::create_dir_all(dir)?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
            MailSettings::Smtp {
                host,
                port,
                tls,
                user,
                password,
                timeout,
            } => {
                let tls = match tls {
                    TlsMode::None => Tls::None,
                    TlsMode::StartTls => Tls::Required(TlsParameters::new(host.clone())?),
                    TlsMode::Tls => Tls::Wrapper(TlsParameters::new(host.clone())?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .tls(tls)
                    .timeout(Some(*timeout));
                if let (Some(user), Some(password)) = (user, password) {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_owned(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
        })
    }

    pub async fn send(
        &self,
        from: &str,
        to: &str,
        mail: VerificationMail,
    ) -> Result<(), SendError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| SendError::permanent(format!("MAIL_FROM: {e}")))?;
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::permanent(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        lettre::message::SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text),
                    )
                    .singlepart(
                        lettre::message::SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html),
                    ),
            )
            .map_err(|e| SendError::permanent(format!("building the message: {e}")))?;
        match self {
            Transport::Files(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::transient(format!("writing the mail file: {e}"))),
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::permanent(e)
                } else {
                    SendError::transient(e)
                }
            }),
        }
    }
}
