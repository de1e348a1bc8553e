//! Transitions out: an EventBridge event (`PutEvents`, source `lightsout`, a detail type per
//! transition) and a webhook (a JSON POST, signed with HMAC-SHA256 when a secret is set).
//! A publish that fails is said in words and never fails the pass; the webhook's secret is
//! never logged or quoted.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::{Clients, cloud_error};
use crate::model::{EVENT_SOURCE, Environment, Transition};

/// The header carrying the body's signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-lightsout-signature";

/// How long a webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Publishes `t` wherever `env`'s `[events]` says; each failure in one line.
pub(crate) async fn publish(c: &Clients, env: &Environment, t: &Transition) -> Vec<String> {
    let mut failed = Vec::new();
    let detail = match serde_json::to_string(t) {
        Ok(d) => d,
        Err(e) => return vec![format!("cannot write the event: {e}")],
    };
    if let Some(bus) = &env.events.bus
        && let Err(e) = put_event(c, bus, t, &detail).await
    {
        failed.push(e);
    }
    if let Some(url) = env.events.webhook_url.clone() {
        let secret = match &env.events.webhook_secret_env {
            None => Ok(None),
            Some(name) => std::env::var(name).map(Some).map_err(|_| {
                format!("webhook not sent: {name} (webhook_secret_env) is not set, and it is never sent unsigned")
            }),
        };
        match secret {
            Err(e) => failed.push(e),
            Ok(secret) => {
                let body = detail.clone();
                let sent = tokio::task::spawn_blocking(move || {
                    post(&url, &body, secret.as_deref(), WEBHOOK_TIMEOUT)
                })
                .await
                .unwrap_or_else(|e| Err(format!("webhook: {e}")));
                if let Err(e) = sent {
                    failed.push(e);
                }
            }
        }
    }
    failed
}

async fn put_event(c: &Clients, bus: &str, t: &Transition, detail: &str) -> Result<(), String> {
    let entry = PutEventsRequestEntry::builder()
        .source(EVENT_SOURCE)
        .detail_type(t.transition.detail_type())
        .detail(detail)
        .event_bus_name(bus)
        .build();
    let out =
        c.eb.put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| cloud_error("PutEvents", e).to_string())?;
    if out.failed_entry_count() > 0 {
        let why = out
            .entries()
            .iter()
            .find_map(|e| {
                e.error_code()
                    .map(|c| format!("{c}: {}", e.error_message().unwrap_or("no message")))
            })
            .unwrap_or_else(|| "no reason given".into());
        return Err(format!("PutEvents refused the event: {why}"));
    }
    Ok(())
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// POSTs the JSON `body` (signed when there is a secret); any answer but 2xx is an error.
fn post(url: &str, body: &str, secret: Option<&str>, timeout: Duration) -> Result<(), String> {
    let agent = super::http_agent(timeout);
    let mut req = agent
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "lightsout");
    if let Some(s) = secret {
        req = req.header(SIGNATURE_HEADER, &sign(s, body.as_bytes()));
    }
    let resp = req.send(body).map_err(|e| match e {
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => {
            "webhook_url is not a usable URL".to_string()
        }
        ureq::Error::Timeout(_) => "webhook: no answer in time".to_string(),
        e => format!("webhook unreachable: {e}"),
    })?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("webhook answered HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    /// The signature is HMAC-SHA256 of the body, in hex (RFC 4231 test case 2).
    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        assert_eq!(
            super::sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
