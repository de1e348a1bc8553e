//! Slack interactivity: the buttons of the heads-up before a sleep ("Keep 1 h", "Sleep now").
//!
//! Slack posts a click to the app's Interactivity Request URL (`POST /v1/slack/interactive`) as
//! `payload=<url-encoded JSON>` of type `block_actions`. It is verified exactly like the slash
//! command ([`super::slack::authenticate`]: the v0 signature over the raw body, the 5-minute
//! window, a constant-time compare, a replay refused through the store) before the body is parsed.
//! The buttons act through the same wake and sleep rules and audit as the API, as
//! `slack:<user id>`: `lightsout_keep` wakes the environment named in the button's `value` for an
//! hour, `lightsout_sleep` puts it to sleep now. The answer is a 200 (Slack wants one within
//! 3 s) with the outcome as text; the same text replaces the heads-up in the channel through the
//! payload's `response_url` (posted first, in at most 1.5 s, only to Slack's own host), so nobody
//! clicks again.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::slack::{escape, verified};
use super::{ApiError, ApiState};
use crate::calendar::local_label;
use crate::ports::Cloud;

/// The button that keeps an environment awake for another hour.
pub const KEEP: &str = "lightsout_keep";
/// The button that puts it to sleep now.
pub const SLEEP: &str = "lightsout_sleep";
/// Where `response_url`s may point by default: Slack's own host (nothing else is ever called).
pub const SLACK_RESPONSES: &str = "https://hooks.slack.com/";

/// The parts of a `block_actions` payload lightsout reads.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<ActionPayload>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ActionPayload {
    action_id: String,
    #[serde(default)]
    value: String,
}

/// `POST /v1/slack/interactive`.
pub(crate) async fn interactive<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let now = verified(&api, "Slack interactivity", &headers, &body).await?;
    let payload = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            app.counted(ApiError::BadRequest(
                "no `payload` field: Slack sends interactions as payload=<JSON>".into(),
            ))
        })?;
    let payload: Payload = serde_json::from_str(&payload).map_err(|e| {
        app.counted(ApiError::BadRequest(format!(
            "the payload is not a Slack interaction: {e}"
        )))
    })?;
    if payload.kind != "block_actions" {
        return Err(app.counted(ApiError::BadRequest(format!(
            "unsupported interaction type \"{}\": only the heads-up's buttons (block_actions) are handled",
            payload.kind.chars().take(40).collect::<String>()
        ))));
    }
    let Some(action) = payload.actions.first() else {
        return Err(app.counted(ApiError::BadRequest("the interaction has no action".into())));
    };
    if action.action_id != KEEP && action.action_id != SLEEP {
        return Err(app.counted(ApiError::BadRequest(format!(
            "unknown action \"{}\": lightsout's buttons are {KEEP} and {SLEEP}",
            action.action_id.chars().take(60).collect::<String>()
        ))));
    }
    let env = app.config.environment(&action.value).ok_or_else(|| {
        app.counted(ApiError::NotFound(format!(
            "no environment \"{}\"",
            action.value.chars().take(60).collect::<String>()
        )))
    })?;
    let user = &payload.user.id;
    // Slack's user ids are short words of letters and digits (`U0123ABCD`); anything else is not
    // Slack's, and would only make a strange audit actor.
    if user.is_empty() || user.len() > 32 || !user.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(app.counted(ApiError::BadRequest(
            "the interaction's user id is not a Slack user id".into(),
        )));
    }
    let who = format!("slack:{user}");
    if let Err(wait) = api.limiter.take(&who, Instant::now()) {
        return Ok(answer(&api, None, &ApiError::TooManyRequests(wait).to_string()).await);
    }
    let result = if action.action_id == KEEP {
        app.keep(env, &who, "Keep 1 h, from the heads-up in Slack")
            .await
            .map(|w| {
                format!(
                    "<@{user}> kept {} awake until {}",
                    env.name,
                    local_label(w.current.until, env.timezone, now)
                )
            })
    } else {
        app.sleep(env, &who, "Sleep now, from the heads-up in Slack")
            .await
            .map(|s| match s.held {
                Some(o) => format!(
                    "<@{user}> put {} to sleep until {}",
                    env.name,
                    local_label(o.until, env.timezone, now)
                ),
                None => format!("<@{user}> put {} to sleep now", env.name),
            })
    };
    match result {
        Ok(text) => Ok(answer(&api, payload.response_url.as_deref(), &text).await),
        Err(crate::service::RequestError::Invalid(m)) => Ok(answer(&api, None, &m).await),
        Err(e) => Err(app.request_error(e)),
    }
}

/// The 200 Slack waits for, with `text` escaped (a user id is Slack's own `U…`, but `<@…>` is
/// rebuilt only after escaping, so no payload text becomes markup); with a `response_url` on
/// Slack's host, the same text first replaces the heads-up in the channel. That post is made
/// before answering, within [`REPLACE_WITHIN`] (a Lambda may be frozen right after it answers,
/// so nothing is left running in the background), and a failure only loses the replacement.
async fn answer<C>(api: &ApiState<C>, response_url: Option<&str>, text: &str) -> Response {
    let text = mention(text);
    if let Some(url) = response_url.filter(|u| u.starts_with(api.slack_responses.as_str())) {
        let body = json!({ "replace_original": true, "text": text }).to_string();
        let url = url.to_string();
        let posted = tokio::task::spawn_blocking(move || {
            crate::aws::outbox::post_slack_response(&url, &body, REPLACE_WITHIN)
        })
        .await;
        if let Ok(Err(e)) | Err(e) = posted.map_err(|e| e.to_string()) {
            tracing::warn!("the heads-up could not be replaced in Slack: {e}");
        }
    }
    axum::Json(json!({ "response_type": "ephemeral", "text": text })).into_response()
}

/// How long replacing the heads-up may take: well inside Slack's 3 s for the whole answer.
const REPLACE_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Escapes `text`, then turns the one mention lightsout writes itself (`<@U…>`, a Slack user id
/// of letters and digits) back into a mention.
fn mention(text: &str) -> String {
    let escaped = escape(text);
    let Some(start) = escaped.find("&lt;@") else {
        return escaped;
    };
    let rest = &escaped[start + 5..];
    match rest.find("&gt;") {
        Some(end)
            if end > 0 && end <= 32 && rest[..end].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!(
                "{}<@{}>{}",
                &escaped[..start],
                &rest[..end],
                &rest[end + 4..]
            )
        }
        _ => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a plain user id becomes a mention; anything else stays escaped text.
    #[test]
    fn only_a_plain_user_id_becomes_a_mention() {
        assert_eq!(mention("<@U123> kept a & b"), "<@U123> kept a &amp; b");
        assert_eq!(
            mention("<@U1|x> <!channel>"),
            "&lt;@U1|x&gt; &lt;!channel&gt;"
        );
        assert_eq!(mention("no mention <b>"), "no mention &lt;b&gt;");
    }
}
