//! Optional e-mail delivery. Without SMTP settings, links are shown to the
//! person who created them instead; messages meant for the recipient alone
//! (a sign-up link) are written to the server's log, for the operator.
use crate::auth::policy::Role;
use crate::config::SmtpConfig;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(cfg: &SmtpConfig) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.url)
            .map_err(|e| anyhow::anyhow!("MANDATE_SMTP_URL is not a valid SMTP address: {e}"))?
            .build();
        let from = cfg.from.parse().map_err(|e| anyhow::anyhow!("MANDATE_SMTP_FROM is not a valid address: {e}"))?;
        Ok(Self { transport, from })
    }

    pub async fn send_invitation(
        &self,
        to: &str,
        inviter: &str,
        org: &str,
        role: Role,
        link: &str,
        days: i64,
    ) -> anyhow::Result<()> {
        let body = format!(
            "{inviter} invites you to join {org} on Mandate as {}.\n\n{}\n\nOpen this link to accept (it works once and expires in {days} days):\n{link}\n\nIf you did not expect this, ignore this message.\n",
            role.label(),
            role.description()
        );
        self.send(to, &format!("Join {org} on Mandate"), &body).await
    }

    /// A plain-text message to one address.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        self.send_with_unsubscribe(to, subject, body, None).await
    }

    /// A plain-text message that can be stopped: with `unsubscribe` (the
    /// recipient's one-click address), mail clients offer "unsubscribe" and
    /// stop it with one POST (RFC 8058).
    pub async fn send_with_unsubscribe(&self, to: &str, subject: &str, body: &str, unsubscribe: Option<&str>) -> anyhow::Result<()> {
        use lettre::message::header::{HeaderName, HeaderValue};
        let mut builder = Message::builder().from(self.from.clone()).to(to.parse()?).subject(subject);
        if let Some(url) = unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()));
        }
        let message = builder.body(body.to_string())?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// A failed send in words for the outbox page (the server's own message goes
/// to the log, for whoever runs Mandate).
pub fn failure_words(e: &anyhow::Error) -> String {
    if e.downcast_ref::<lettre::address::AddressError>().is_some() {
        return "The address is not a valid e-mail address.".into();
    }
    match e.downcast_ref::<lettre::transport::smtp::Error>() {
        Some(s) if s.is_permanent() => "The mail server refused the message.".into(),
        Some(s) if s.is_transient() => "The mail server asked to try again later.".into(),
        Some(s) if s.is_timeout() => "The mail server did not answer in time.".into(),
        _ => "The mail server could not be reached.".into(),
    }
}

/// Sends a message meant for its recipient alone, without making the request
/// wait (or its timing depend) on delivery. Without SMTP the message goes to
/// the server's log, where whoever runs Mandate can read it.
pub fn deliver(mailer: Option<std::sync::Arc<Mailer>>, to: String, subject: String, body: String) {
    match mailer {
        Some(m) => {
            tokio::spawn(async move {
                if let Err(e) = m.send(&to, &subject, &body).await {
                    tracing::warn!(target: "mandate::mail", "could not send \"{subject}\": {e}");
                }
            });
        }
        None => tracing::warn!(target: "mandate::outbox", "no SMTP configured, so this message for {to} was not sent:\nSubject: {subject}\n\n{body}"),
    }
}
