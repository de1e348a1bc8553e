//! Sends a digest to its channels: each on its own, retried with backoff, never blocking the
//! others; what failed is returned (and shown in the next digest).

use chrono_tz::Tz;

use super::Digester;
use super::figures::{Combined, Digest};
use super::render;
use crate::model::{Channel, Environment};

/// What is sent: one environment's digest, or the combined one (times in a zone).
#[derive(Clone, Copy)]
pub(crate) enum Report<'a> {
    One(&'a Digest),
    All(&'a Combined, Tz),
}

impl Report<'_> {
    fn markdown(&self) -> String {
        match self {
            Report::One(d) => render::markdown(d),
            Report::All(c, tz) => render::combined_markdown(c, *tz),
        }
    }
    fn slack(&self) -> String {
        match self {
            Report::One(d) => render::slack(d).to_string(),
            Report::All(c, tz) => render::combined_slack(c, *tz).to_string(),
        }
    }
    fn email(&self) -> render::Email {
        match self {
            Report::One(d) => render::email(d),
            Report::All(c, tz) => render::combined_email(c, *tz),
        }
    }
    fn text(&self) -> String {
        match self {
            Report::One(d) => render::plain_text(d),
            Report::All(c, tz) => render::combined_text(c, *tz),
        }
    }
}

impl Digester {
    /// Sends `digest` to `channels` at once; per channel, `Ok` or the last error.
    pub(crate) async fn deliver(
        &self,
        env: &Environment,
        digest: Report<'_>,
        channels: &[Channel],
    ) -> Vec<(Channel, Result<(), String>)> {
        let sends = channels.iter().map(|&c| async move {
            let mut last = Err("not tried".to_string());
            for attempt in 0..=self.backoff.len() {
                if attempt > 0 {
                    tokio::time::sleep(self.backoff[attempt - 1]).await;
                }
                last = self.send(env, digest, c).await;
                match &last {
                    Ok(()) => break,
                    Err(e) => tracing::warn!(
                        env = %env.name,
                        channel = c.name(),
                        attempt = attempt + 1,
                        error = %e,
                        "digest: sending failed"
                    ),
                }
            }
            (c, last)
        });
        futures_util::future::join_all(sends).await
    }

    async fn send(
        &self,
        env: &Environment,
        digest: Report<'_>,
        channel: Channel,
    ) -> Result<(), String> {
        let d = &env.digest;
        match channel {
            Channel::Stdout => {
                println!("{}", digest.markdown());
                Ok(())
            }
            Channel::Slack => self.outbox.slack(digest.slack()).await,
            Channel::Email => {
                let from = d.email_from.as_deref().ok_or("no email_from")?;
                let mail = digest.email();
                let raw = mime(&mail, from, &d.email_to, self.clock.now().timestamp())?;
                self.outbox.email(from, &d.email_to, raw).await
            }
            Channel::Sns => {
                let topic = d.sns_topic_arn.as_deref().ok_or("no sns_topic_arn")?;
                let mail = digest.email();
                self.outbox
                    .publish(topic, &mail.subject, &digest.text())
                    .await
            }
        }
    }
}

/// The email as MIME: text and HTML alternatives, the chart inline by Content-ID.
pub(crate) fn mime(
    mail: &render::Email,
    from: &str,
    to: &[String],
    now: i64,
) -> Result<Vec<u8>, String> {
    let mut m = mail_builder::MessageBuilder::new()
        .from(("lightsout", from))
        .to(to.iter().map(|a| a.as_str()).collect::<Vec<_>>())
        .subject(mail.subject.as_str())
        .date(mail_builder::headers::date::Date::new(now))
        .text_body(mail.text.as_str())
        .html_body(mail.html.as_str());
    if let Some(png) = &mail.chart_png {
        m = m.inline("image/png", mail.chart_cid.as_str(), png.as_slice());
    }
    m.write_to_vec()
        .map_err(|e| format!("cannot build the email: {e}"))
}
