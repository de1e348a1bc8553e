//! What lightsout sends and reads outside the environments: the digest by SES, SNS and a Slack
//! incoming webhook (the [`Outbox`] port), and secrets from SSM Parameter Store at start-up.

use std::time::Duration;

use aws_config::{Region, SdkConfig};
use futures_util::future::{BoxFuture, FutureExt};

use super::cloud_error;
use crate::ports::Outbox;

/// The real outbox: SES and SNS through the SDK, Slack through its webhook.
pub struct AwsOutbox {
    config: SdkConfig,
    /// The Slack incoming webhook URL (a secret: never logged or echoed).
    slack_webhook: Option<String>,
}

impl AwsOutbox {
    /// An outbox over `config`, posting to `slack_webhook` when there is one.
    pub fn new(config: SdkConfig, slack_webhook: Option<String>) -> AwsOutbox {
        AwsOutbox {
            config,
            slack_webhook,
        }
    }
}

impl Outbox for AwsOutbox {
    fn email<'a>(
        &'a self,
        from: &'a str,
        to: &'a [String],
        raw: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>> {
        async move { send_email(&self.config, from, to, raw).await.map(|_| ()) }.boxed()
    }

    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        subject: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        async move {
            publish(&self.config, topic_arn, subject, message)
                .await
                .map(|_| ())
        }
        .boxed()
    }

    fn slack(&self, body: String) -> BoxFuture<'_, Result<(), String>> {
        let url = self.slack_webhook.clone();
        async move {
            let url =
                url.ok_or("no Slack webhook: set LIGHTSOUT_SLACK_WEBHOOK_URL (or _FILE, or _SSM)")?;
            tokio::task::spawn_blocking(move || post_json(&url, &body, Duration::from_secs(10)))
                .await
                .map_err(|e| format!("Slack post failed: {e}"))?
        }
        .boxed()
    }
}

/// Sends a raw MIME message through SES (v2 `SendEmail`), in the SDK configuration's region.
pub async fn send_email(
    config: &SdkConfig,
    from: &str,
    to: &[String],
    raw: Vec<u8>,
) -> Result<String, String> {
    let ses = aws_sdk_sesv2::Client::new(config);
    let raw = aws_sdk_sesv2::types::RawMessage::builder()
        .data(aws_smithy_types::Blob::new(raw))
        .build()
        .map_err(|e| e.to_string())?;
    let out = ses
        .send_email()
        .from_email_address(from)
        .destination(
            aws_sdk_sesv2::types::Destination::builder()
                .set_to_addresses(Some(to.to_vec()))
                .build(),
        )
        .content(
            aws_sdk_sesv2::types::EmailContent::builder()
                .raw(raw)
                .build(),
        )
        .send()
        .await
        .map_err(|e| cloud_error("SendEmail", e).to_string())?;
    Ok(out.message_id().unwrap_or("").to_string())
}

/// Publishes to an SNS topic, in the topic's region.
pub async fn publish(
    config: &SdkConfig,
    topic_arn: &str,
    subject: &str,
    message: &str,
) -> Result<String, String> {
    let region = topic_arn.split(':').nth(3).unwrap_or("").to_string();
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(config)
            .region(Region::new(region))
            .build(),
    );
    // SNS subjects: at most 100 characters, printable ASCII, no line breaks.
    let subject: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let out = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message(message)
        .send()
        .await
        .map_err(|e| cloud_error("Publish", e).to_string())?;
    Ok(out.message_id().unwrap_or("").to_string())
}

/// Reads a SecureString (or String) parameter from SSM Parameter Store, decrypted.
pub async fn parameter(config: &SdkConfig, name: &str) -> Result<String, String> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| cloud_error("GetParameter", e).to_string())?;
    out.parameter()
        .and_then(|p| p.value())
        .map(String::from)
        .ok_or_else(|| format!("parameter {name} has no value"))
}

/// POSTs JSON to a webhook; any answer but 2xx is an error with the start of its body.
/// Posts an answer to a Slack interaction's `response_url` (blocking; at most `within`).
pub fn post_slack_response(url: &str, body: &str, within: Duration) -> Result<(), String> {
    post_json(url, body, within)
}

fn post_json(url: &str, body: &str, timeout: Duration) -> Result<(), String> {
    let agent = super::http_agent(timeout);
    let mut resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .map_err(|e| match e {
            // These would quote the URL, which is the secret.
            ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => {
                "the Slack webhook URL is not a usable URL (check LIGHTSOUT_SLACK_WEBHOOK_URL)"
                    .to_string()
            }
            e => format!("Slack webhook unreachable: {e}"),
        })?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Err(format!(
        "Slack answered {status}: {}",
        text.chars().take(200).collect::<String>()
    ))
}
