//! The heads-up before a scheduled or idle sleep: `staging sleeps at 20:00 (Australia/Sydney) —
//! [Keep 1 h] [Sleep now]`, posted to Slack (the digest's incoming webhook, which must belong to a
//! Slack app for the buttons to work) `heads_up` before the sleep, when the environment was used
//! in the last hour. When it is due is [`crate::schedule::heads_up_due`], or for an idle sleep
//! [`crate::idle::heads_up_due`] on what the pass saw of its counts ([`crate::idle::Upcoming`],
//! claimed by [`crate::idle::Upcoming::name`]); both pure. This file reads
//! what it needs from the store, claims the sleep once ([`crate::store::Store::claim_once`], so
//! two daemons or Lambda containers never both post) and posts. The buttons come back through
//! `POST /v1/slack/interactive` (`crate::api::slack_actions`).
//!
//! "Used in the last hour" means: the audit trail of the environment has an event at or after
//! an hour ago whose actor is not the scheduled passes' own (`schedule`) — a wake or a sleep asked
//! through the API, Slack, the command line or the front door (`request:<source>`), or a step of
//! a hand-run `lightsout apply`. When this copy's pass (in the last 5 minutes) read the front
//! door's request counts — an environment with idle settings, within the lead of its earliest
//! idle sleep or of a scheduled sleep; the counts then reach an hour back — the end of the last
//! minute with requests is a use too. Without counts, the audit rule alone decides.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::Service;
use super::{RequestError, Woken};
use crate::idle;
use crate::model::{AuditEvent, Environment};
use crate::ports::Cloud;
use crate::schedule::{USED_WITHIN_HOURS, heads_up_due, heads_up_from};

/// The newest use among `events`: an event not made by the scheduled passes (`schedule_actor`)
/// nor by idle to sleep (which is the absence of use).
pub fn last_used(events: &[AuditEvent], schedule_actor: &str) -> Option<DateTime<Utc>> {
    events
        .iter()
        .filter(|e| e.actor != schedule_actor && e.actor != super::follow::IDLE_ACTOR)
        .map(|e| e.at)
        .max()
}

/// How old the idle view of a pass may be for the heads-up after it.
const FRESH: TimeDelta = TimeDelta::minutes(5);

/// How long "Keep 1 h" keeps an environment awake.
pub const KEEP_FOR: TimeDelta = TimeDelta::hours(1);

/// Slack's escaping of text (`&`, `<`, `>`), so a name never becomes markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The heads-up message: Block Kit with the two buttons (`lightsout_keep`, `lightsout_sleep`,
/// value = the environment's name), times in the environment's zone, and a signed wake link to
/// its waiting page when there is one.
pub fn message(
    env: &Environment,
    sleeps_at: DateTime<Utc>,
    now: DateTime<Utc>,
    wake_link: Option<&str>,
) -> Value {
    let local = sleeps_at.with_timezone(&env.timezone);
    let when = format!("{} ({})", local.format("%H:%M"), env.timezone.name());
    let minutes = (sleeps_at - now).num_minutes().max(0);
    let name = escape(&env.name);
    let mut detail = format!(
        "*{name}* sleeps at {when}, in {minutes} min. Still using it? Keep it awake for an hour, or let it sleep now."
    );
    if let Some(link) = wake_link {
        detail.push_str(&format!(
            "\nAsleep already? <{link}|Open its wake page> (the link wakes it for 1 h, for 12 hours)."
        ));
    }
    json!({
        "text": format!("{name} sleeps at {when} — Keep 1 h or Sleep now"),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": detail } },
            {
                "type": "actions",
                "block_id": "lightsout_heads_up",
                "elements": [
                    {
                        "type": "button", "action_id": "lightsout_keep", "style": "primary",
                        "text": { "type": "plain_text", "text": "Keep 1 h" }, "value": env.name,
                    },
                    {
                        "type": "button", "action_id": "lightsout_sleep", "style": "danger",
                        "text": { "type": "plain_text", "text": "Sleep now" }, "value": env.name,
                    },
                ],
            },
        ],
    })
}

impl<C: Cloud> Service<C> {
    /// Posts every heads-up due now, each at most once per sleep across every copy sharing the
    /// store; returns the environments it posted for. A failure is logged, never fatal to a pass.
    pub async fn heads_ups(&self) -> Vec<String> {
        let mut posted = Vec::new();
        for env in self
            .config
            .environments
            .iter()
            .filter(|e| e.heads_up.is_some())
        {
            match self.heads_up(env).await {
                Ok(true) => posted.push(env.name.clone()),
                Ok(false) => {}
                Err(e) => tracing::warn!(env = %env.name, "heads-up not posted: {e}"),
            }
        }
        posted
    }

    async fn heads_up(&self, env: &Environment) -> Result<bool, String> {
        let now = self.clock.now();
        let ov = self
            .store
            .active_override(&env.name, now)
            .await
            .map_err(|e| e.to_string())?;
        // The idle sleep to come, as this copy's pass just saw it (a stale view is not used).
        let ahead = self
            .idle_ahead
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&env.name)
            .filter(|u| u.at <= now && now - u.at <= FRESH)
            .cloned();
        // Read the audit only when the clock (or the idle sleep to come) says one could be due.
        let idle_could = |used| {
            ahead
                .as_ref()
                .and_then(|u| idle::heads_up_due(env, ov.as_ref(), u, now, used))
        };
        if heads_up_due(env, ov.as_ref(), now, Some(now)).is_none()
            && idle_could(Some(now)).is_none()
        {
            return Ok(false);
        }
        let events = self
            .store
            .audit_since(&env.name, now - TimeDelta::hours(USED_WITHIN_HOURS))
            .await
            .map_err(|e| e.to_string())?;
        // Requests through the front door count as use too, when the pass read them.
        let requests = self
            .requests_seen
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&env.name)
            .filter(|(at, _)| *at <= now && now - *at <= FRESH)
            .and_then(|(_, last)| *last);
        let used = last_used(&events, &self.actor).max(requests);
        // An idle sleep due within the lead comes before the schedule's end (else it would not
        // be due): its heads-up is the one, and the scheduled sleep's none.
        let (key, sleeps_at) = if let (Some(at), Some(up)) = (idle_could(used), ahead.as_ref()) {
            // Named by when the front door went quiet: the same idle sleep across passes, even
            // as its instant moves by a minute with late counts.
            (format!("heads-up-idle:{}:{}", env.name, up.name()), at)
        } else if let Some(at) = heads_up_due(env, ov.as_ref(), now, used) {
            (format!("heads-up:{}:{}", env.name, at.timestamp()), at)
        } else {
            return Ok(false);
        };
        let Some(outbox) = &self.notify else {
            return Err(
                "heads_up is set but no Slack webhook is (LIGHTSOUT_SLACK_WEBHOOK_URL)".into(),
            );
        };
        // An idle sleep is also claimed by its instant: a request leaving the counts read can
        // change its name, never both.
        let by_instant = key
            .starts_with("heads-up-idle:")
            .then(|| format!("heads-up-idle:{}:at:{}", env.name, sleeps_at.timestamp()));
        for key in std::iter::once(key).chain(by_instant) {
            if !self
                .store
                .claim_once(&key, now, sleeps_at + TimeDelta::days(1))
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(false);
            }
        }
        let link = match (&self.links, env.kinds.alb.hosts.first()) {
            (Some(links), Some(host)) => Some(links.url(host, &env.name, now)),
            _ => None,
        };
        // Claimed before posting: a post that fails is not retried (at most once, never twice).
        outbox
            .slack(message(env, sleeps_at, now, link.as_deref()).to_string())
            .await?;
        tracing::info!(env = %env.name, sleeps_at = %sleeps_at, "heads-up posted to Slack");
        Ok(true)
    }

    /// "Keep 1 h" from the heads-up: wakes `env` for an hour (as `who`, through the same rules
    /// and audit as any wake), and holds its idle sleep off for that hour (remembered in the
    /// store, so every copy sees it): without that, the idle window from the click would end it
    /// sooner.
    pub async fn keep(
        &self,
        env: &Environment,
        who: &str,
        reason: &str,
    ) -> Result<Woken, RequestError> {
        let woken = self.wake(env, who, "1h", reason).await?;
        let now = self.clock.now();
        let until = now + KEEP_FOR;
        if env.idle.is_some()
            && let Err(e) = self
                .store
                .cache_put(
                    &super::follow::kept_key(&env.name),
                    &until.to_rfc3339(),
                    until + TimeDelta::days(1),
                )
                .await
        {
            // The wake stands; idle to sleep may end it before the hour.
            tracing::warn!(env = %env.name, error = %e, "cannot remember the Keep 1 h");
            self.metrics.store_errors.inc();
        }
        Ok(woken)
    }

    /// When a heads-up could next fall due, over every environment (for the daemon's wait).
    pub async fn next_heads_up(&self) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        let mut next: Option<DateTime<Utc>> = None;
        for env in self
            .config
            .environments
            .iter()
            .filter(|e| e.heads_up.is_some())
        {
            let ov = self
                .store
                .active_override(&env.name, now)
                .await
                .ok()
                .flatten();
            let idle = self
                .idle_ahead
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&env.name)
                .zip(env.heads_up)
                .map(|(u, lead)| u.due - lead)
                .filter(|at| *at > now);
            for at in heads_up_from(env, ov.as_ref(), now).into_iter().chain(idle) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Outcome};

    fn event(at: &str, actor: &str) -> AuditEvent {
        AuditEvent {
            at: at.parse().unwrap(),
            env: "staging".into(),
            resource: String::new(),
            action: Action::Sleep {
                until: None,
                idle: None,
            },
            reason: String::new(),
            actor: actor.into(),
            outcome: Outcome::Ok,
        }
    }

    /// The scheduled passes' own actions are not a use; anyone else's are.
    #[test]
    fn a_use_is_anything_the_scheduled_passes_did_not_do() {
        let events = [
            event("2026-12-02T08:10:00Z", "alice"),
            event("2026-12-02T08:20:00Z", "request:10.0.0.1"),
            event("2026-12-02T08:40:00Z", "schedule"),
        ];
        assert_eq!(
            last_used(&events, "schedule"),
            Some("2026-12-02T08:20:00Z".parse().unwrap())
        );
        assert_eq!(last_used(&events[2..], "schedule"), None);
    }

    /// The message names the sleep in the environment's zone, carries both buttons with the
    /// environment as their value, escapes the name, and links the wake page when given one.
    #[test]
    fn the_message_has_both_buttons_and_local_time() {
        let src = "name = \"staging\"\nregion = \"ap-southeast-2\"\ntimezone = \"Australia/Sydney\"\nawake = [\"Mon-Fri 07:00-20:00\"]\nheads_up = \"15m\"\n[rds]\ninstances = [\"db\"]\n";
        let mut env = crate::config::parse_str(std::path::Path::new("s.toml"), src).unwrap();
        let at: DateTime<Utc> = "2026-12-02T09:00:00Z".parse().unwrap();
        let m = message(&env, at, at - TimeDelta::minutes(15), None);
        assert_eq!(
            m["text"],
            "staging sleeps at 20:00 (Australia/Sydney) — Keep 1 h or Sleep now"
        );
        let buttons = &m["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], "lightsout_keep");
        assert_eq!(buttons[0]["value"], "staging");
        assert_eq!(buttons[1]["action_id"], "lightsout_sleep");
        assert!(
            m["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("in 15 min")
        );
        env.name = "a<b>&c".into();
        let m = message(&env, at, at, Some("https://h/?lightsout_wake=x"));
        let text = m["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(text.starts_with("*a&lt;b&gt;&amp;c*"), "{text}");
        assert!(text.contains("<https://h/?lightsout_wake=x|Open its wake page>"));
    }
}
