//! The Slack slash command: `/staging wake 2h reason`, `/staging sleep`, `/staging status`
//! (or `/lightsout staging wake 2h ...` with one command for several environments).
//!
//! Requests are verified with the app's signing secret: `v0=` HMAC-SHA256 of
//! `v0:{timestamp}:{body}`, compared in constant time; a timestamp more than 5 minutes from now is
//! refused (before the body is read: see `guard`), and so is a signature already used — claimed
//! in the store ([`crate::store::Store::claim_once`]), so a replay is refused after a restart, by
//! another copy and by another Lambda container too. Answers use Slack's response format: wakes
//! and sleeps are shown to the channel, everything else only to the caller; every answer's text
//! is escaped (`&`, `<`, `>`), so what a user typed can never become a mention or a link.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::ApiError;
use super::ApiState;
use crate::calendar::local_label;
use crate::model::Config;
use crate::ports::Cloud;
use crate::schedule::decide;

/// How far a request's timestamp may be from now.
const MAX_SKEW_SECONDS: u64 = 5 * 60;

/// Checks Slack's request signatures (replays are refused through the store).
pub struct SlackVerifier {
    secret: Vec<u8>,
}

impl std::fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackVerifier { secret: <redacted> }")
    }
}

impl SlackVerifier {
    /// A verifier for the app's signing secret.
    pub fn new(secret: &str) -> SlackVerifier {
        SlackVerifier {
            secret: secret.trim().as_bytes().to_vec(),
        }
    }

    /// `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes keys of any length");
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        let mut out = String::with_capacity(3 + 64);
        out.push_str("v0=");
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Checks a request's timestamp header against `now` (Unix seconds): present, a number,
    /// within 5 minutes. Any value, however extreme, is an answer, never an overflow.
    pub fn check_timestamp(timestamp: Option<&str>, now: i64) -> Result<(), String> {
        let ts: i64 = timestamp
            .ok_or("missing X-Slack-Request-Timestamp header")?
            .trim()
            .parse()
            .map_err(|_| "X-Slack-Request-Timestamp is not a Unix time")?;
        if now.abs_diff(ts) > MAX_SKEW_SECONDS {
            return Err("stale request: its timestamp is more than 5 minutes from now".into());
        }
        Ok(())
    }

    /// Verifies a request at `now` (Unix seconds): the timestamp's window, then the signature.
    /// Returns the signature, which the caller claims once in the store to refuse replays; the
    /// reason on failure.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<String, String> {
        Self::check_timestamp(timestamp, now)?;
        let ts_text = timestamp.unwrap_or_default().trim();
        let given = signature.ok_or("missing X-Slack-Signature header")?;
        let expected = self.sign(ts_text, body);
        if !bool::from(expected.as_bytes().ct_eq(given.trim().as_bytes())) {
            return Err("bad signature".into());
        }
        Ok(expected)
    }
}

/// Slack's text escaping: `&`, `<` and `>` as entities, so user input stays text (no
/// `<!channel>` ping, no `<https://...|label>` link).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackCommand {
    /// Wake an environment.
    Wake {
        /// Environment.
        env: String,
        /// Duration as typed (`1h` when none was given).
        duration: String,
        /// The rest of the text.
        reason: String,
    },
    /// Put it to sleep.
    Sleep {
        /// Environment.
        env: String,
        /// The rest of the text.
        reason: String,
    },
    /// Say how it is.
    Status {
        /// Environment.
        env: String,
    },
    /// Say how to use the command.
    Help,
}

/// Parses a slash command's `command` (`/staging`) and `text` (`wake 2h hotfix`). The
/// environment is the first word when it names one, otherwise the command's name, otherwise the
/// only environment there is. The error says how to write it.
pub fn parse_command(command: &str, text: &str, envs: &[&str]) -> Result<SlackCommand, String> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let env = if words.first().is_some_and(|w| envs.contains(w)) {
        words.remove(0).to_string()
    } else {
        let name = command.trim().trim_start_matches('/');
        if envs.contains(&name) {
            name.to_string()
        } else if envs.len() == 1 {
            envs[0].to_string()
        } else {
            return Err(format!(
                "which environment? Write `{command} ENV wake 2h reason`; environments: {}",
                envs.join(", ")
            ));
        }
    };
    let verb = if words.is_empty() {
        "status".to_string()
    } else {
        words.remove(0).to_ascii_lowercase()
    };
    match verb.as_str() {
        "wake" | "up" => {
            let duration = match words.first() {
                Some(w)
                    if w.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == '-') =>
                {
                    words.remove(0).to_string()
                }
                _ => "1h".to_string(),
            };
            Ok(SlackCommand::Wake {
                env,
                duration,
                reason: words.join(" "),
            })
        }
        "sleep" | "down" => Ok(SlackCommand::Sleep {
            env,
            reason: words.join(" "),
        }),
        "status" => Ok(SlackCommand::Status { env }),
        "help" => Ok(SlackCommand::Help),
        other => Err(format!(
            "unknown action \"{other}\": use wake [DURATION] [REASON], sleep [REASON] or status"
        )),
    }
}

/// An answer only the caller sees. Every answer goes through [`escape`]: the texts echo what
/// users typed (reasons, names, unknown words), and none of lightsout's own uses `&`, `<`, `>`.
fn ephemeral(text: impl Into<String>) -> Response {
    axum::Json(json!({ "response_type": "ephemeral", "text": escape(&text.into()) }))
        .into_response()
}

/// An answer shown to the channel, escaped like [`ephemeral`].
fn in_channel(text: impl Into<String>) -> Response {
    axum::Json(json!({ "response_type": "in_channel", "text": escape(&text.into()) }))
        .into_response()
}

/// A signed wake link to the environment's waiting page, when links are signed and the
/// environment has a front door (`[alb] hosts`): lightsout's own markup, added to an answer
/// after its text was escaped.
fn wake_link<C: Cloud>(
    app: &crate::service::Service<C>,
    env: &crate::model::Environment,
    now: DateTime<Utc>,
) -> Option<String> {
    let (links, host) = (app.links.as_ref()?, env.kinds.alb.hosts.first()?);
    Some(format!(
        "<{}|Wake page link> (wakes it for 1 h from its page; valid 12 hours)",
        links.url(host, &env.name, now)
    ))
}

fn env_names(config: &Config) -> Vec<&str> {
    config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect()
}

/// Checks a Slack request (a slash command or an interaction) at `now`: the timestamp's window,
/// the signature over the raw body in constant time, and that the signature was not used before
/// (claimed in the store, so a replay is refused by every copy, also after a restart).
pub(super) async fn authenticate<C: Cloud>(
    app: &crate::service::Service<C>,
    verifier: &SlackVerifier,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = verifier
        .verify(
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now.timestamp(),
        )
        .map_err(|why| {
            app.counted(ApiError::Unauthorized(format!(
                "Slack request refused: {why}"
            )))
        })?;
    // The claim outlives the timestamp's window, after which the window refuses it anyway.
    let window = chrono::TimeDelta::seconds(2 * MAX_SKEW_SECONDS as i64);
    let first = app
        .store
        .claim_once(&format!("slack:{signature}"), now, now + window)
        .await
        .map_err(|e| app.count_store(e))?;
    if !first {
        return Err(app.counted(ApiError::Unauthorized(
            "Slack request refused: replayed request: this signature was already used".into(),
        )));
    }
    Ok(())
}

/// A Slack request to `what` checked ([`authenticate`]) at the clock's now, which it returns; a
/// 404 saying what to set when Slack is not configured.
pub(super) async fn verified<C: Cloud>(
    api: &ApiState<C>,
    what: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DateTime<Utc>, ApiError> {
    let app = &api.service;
    let Some(verifier) = &api.slack else {
        return Err(app.counted(ApiError::NotFound(format!(
            "{what} is not configured (set LIGHTSOUT_SLACK_SIGNING_SECRET)"
        ))));
    };
    let now: DateTime<Utc> = app.clock.now();
    authenticate(app, verifier, headers, body, now).await?;
    Ok(now)
}

/// `POST /v1/slack/command`.
pub(crate) async fn command<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let now = verified(&api, "the Slack command", &headers, &body).await?;
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let user = form
        .get("user_name")
        .or_else(|| form.get("user_id"))
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    let who = format!("slack:{user}");
    let names = env_names(&app.config);
    let parsed = match parse_command(
        form.get("command").map_or("/lightsout", String::as_str),
        form.get("text").map_or("", String::as_str),
        &names,
    ) {
        Ok(c) => c,
        Err(e) => return Ok(ephemeral(e)),
    };
    let env_of = |name: &str| {
        app.config
            .environment(name)
            .ok_or_else(|| ApiError::NotFound(format!("no environment \"{name}\"")))
    };
    let limited = |api: &ApiState<C>| {
        api.limiter
            .take(&who, std::time::Instant::now())
            .map_err(ApiError::TooManyRequests)
    };
    let result = match parsed {
        SlackCommand::Help => {
            return Ok(ephemeral(
                "Usage: `/staging wake 2h reason`, `/staging sleep`, `/staging status` (or `/lightsout ENV wake 2h ...`)",
            ));
        }
        SlackCommand::Status { env } => {
            let env = env_of(&env)?;
            let ov = app
                .store
                .active_override(&env.name, now)
                .await
                .map_err(|e| app.count_store(e))?;
            let state = match app.snapshot(&env.name) {
                None => "unknown (no pass has run yet)".to_string(),
                Some(s) => match &s.unknown {
                    Some(u) => format!(
                        "unknown since {}: {}",
                        local_label(u.since, env.timezone, now),
                        u.reason
                    ),
                    None => s.state().to_string(),
                },
            };
            let mut text = escape(&format!(
                "*{}*: {} — {}",
                env.name,
                state,
                decide(env, ov.as_ref(), now).describe(env.timezone, now)
            ));
            if let Some(link) = wake_link(app, env, now) {
                text.push('\n');
                text.push_str(&link);
            }
            return Ok(
                axum::Json(json!({ "response_type": "ephemeral", "text": text })).into_response(),
            );
        }
        SlackCommand::Wake {
            env,
            duration,
            reason,
        } => {
            let env = env_of(&env)?;
            limited(&api)?;
            app.wake(env, &who, &duration, &reason)
                .await
                .map_err(|e| app.request_error(e))
                .map(|w| {
                    let ready = w
                        .ready
                        .map(|t| format!("; ready about {}", local_label(t, env.timezone, now)))
                        .unwrap_or_default();
                    in_channel(format!(
                        "{} woke *{}* until {}{ready}{}",
                        user,
                        env.name,
                        local_label(w.current.until, env.timezone, now),
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(" — {reason}")
                        }
                    ))
                })
        }
        SlackCommand::Sleep { env, reason } => {
            let env = env_of(&env)?;
            limited(&api)?;
            app.sleep(env, &who, &reason)
                .await
                .map_err(|e| app.request_error(e))
                .map(|slept| match slept.held {
                    Some(o) => in_channel(format!(
                        "{} put *{}* to sleep until {}",
                        user,
                        env.name,
                        local_label(o.until, env.timezone, now)
                    )),
                    None => in_channel(format!("{} put *{}* back on its schedule", user, env.name)),
                })
        }
    };
    // A refusal the user can fix (too long, rate limited) is told to them in Slack; a store
    // outage stays an HTTP error so Slack shows the failure.
    match result {
        Ok(r) => Ok(r),
        Err(ApiError::BadRequest(m)) => Ok(ephemeral(m)),
        Err(e @ ApiError::TooManyRequests(_)) => Ok(ephemeral(e.to_string())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    /// Slack's documented example request verifies; tampering and staleness do not.
    #[test]
    fn slack_documented_example_verifies_and_variants_do_not() {
        let v = SlackVerifier::new("8f742231b10e8888abcd99yyyzzz85a5");
        assert_eq!(v.sign("1531420618", BODY.as_bytes()), SIGNATURE);
        let now = 1531420618 + 60;
        assert_eq!(
            v.verify(Some("1531420618"), Some(SIGNATURE), BODY.as_bytes(), now),
            Ok(SIGNATURE.to_string()),
            "the signature comes back, to be claimed once in the store"
        );
        let fresh = SlackVerifier::new("8f742231b10e8888abcd99yyyzzz85a5");
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            fresh.verify(
                Some("1531420618"),
                Some(SIGNATURE),
                tampered.as_bytes(),
                now
            ),
            Err("bad signature".into())
        );
        assert!(
            fresh
                .verify(
                    Some("1531420618"),
                    Some(SIGNATURE),
                    BODY.as_bytes(),
                    now + 300
                )
                .unwrap_err()
                .contains("stale")
        );
        assert!(
            fresh
                .verify(None, Some(SIGNATURE), BODY.as_bytes(), now)
                .unwrap_err()
                .contains("missing")
        );
        assert!(
            fresh
                .verify(Some("1531420618"), None, BODY.as_bytes(), now)
                .unwrap_err()
                .contains("missing")
        );
        assert!(
            !format!("{fresh:?}").contains("8f74"),
            "the secret never appears in Debug output"
        );
    }

    #[test]
    fn commands_parse_with_environment_from_command_or_text() {
        let envs = ["staging", "preview"];
        assert_eq!(
            parse_command("/staging", "wake 2h fix the login", &envs),
            Ok(SlackCommand::Wake {
                env: "staging".into(),
                duration: "2h".into(),
                reason: "fix the login".into()
            })
        );
        assert_eq!(
            parse_command("/lightsout", "preview wake demo", &envs),
            Ok(SlackCommand::Wake {
                env: "preview".into(),
                duration: "1h".into(),
                reason: "demo".into()
            })
        );
        assert_eq!(
            parse_command("/staging", "", &envs),
            Ok(SlackCommand::Status {
                env: "staging".into()
            })
        );
        assert_eq!(
            parse_command("/staging", "SLEEP done", &envs),
            Ok(SlackCommand::Sleep {
                env: "staging".into(),
                reason: "done".into()
            })
        );
        assert!(
            parse_command("/lightsout", "wake", &envs)
                .unwrap_err()
                .contains("which environment")
        );
        assert!(
            parse_command("/staging", "explode", &envs)
                .unwrap_err()
                .contains("unknown action")
        );
        assert_eq!(
            parse_command("/x", "wake -1h", &["only"]),
            Ok(SlackCommand::Wake {
                env: "only".into(),
                duration: "-1h".into(),
                reason: String::new()
            })
        );
    }

    /// Timestamps at and past the ends of i64 are refused as stale or not a time, never an
    /// overflow (which panics in a debug build).
    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        for now in [0, 1_531_420_678] {
            for ts in [
                "-9223372036854775808",
                "9223372036854775807",
                "99999999999999999999",
            ] {
                let e = SlackVerifier::check_timestamp(Some(ts), now);
                assert!(
                    e.as_ref()
                        .is_err_and(|e| e.contains("stale") || e.contains("not a Unix time")),
                    "{ts} at {now}: {e:?}"
                );
            }
        }
        for (ts, now) in [("0", i64::MAX), ("9223372036854775807", i64::MIN)] {
            assert!(SlackVerifier::check_timestamp(Some(ts), now).is_err());
        }
        assert_eq!(SlackVerifier::check_timestamp(Some("100"), 400), Ok(()));
    }

    /// `&`, `<` and `>` become entities; everything else is kept.
    #[test]
    fn escape_turns_markup_into_text() {
        assert_eq!(
            escape("<!channel> <https://evil|click> & *bold* é"),
            "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; *bold* é"
        );
    }
}
