//! What lightsout sends and reads outside the environments: the digest by SES and SNS, and
//! secrets from SSM Parameter Store at start-up.

use aws_config::{Region, SdkConfig};

use super::cloud_error;

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
