//! The keys of a schedule file that make an environment follow its use and tell others: idle
//! to sleep (`idle_wake`, `idle_sleep`, `idle_min_awake`), alarm muting (`mute_alarms`) and
//! where transitions are published (`[events]`).

use toml::de::DeTable;

use crate::diag::{Reader, Val, lookup};
use crate::model::{EventsConfig, IdleConfig, parse_duration};

const EVENTS_KEYS: &[&str] = &["bus", "webhook_url", "webhook_secret_env"];

/// The shortest idle window: ALB metrics arrive a few minutes late, so a shorter one would put
/// an environment in use to sleep.
const IDLE_FLOOR: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

impl Reader<'_, '_> {
    /// `idle_wake`, `idle_sleep` and `idle_min_awake`; `has_door`: the `[alb]` table lists
    /// rules (whose requests are counted).
    pub(super) fn idle(&mut self, root: &DeTable<'_>, has_door: bool) -> Option<IdleConfig> {
        let wake = lookup(root, "idle_wake").and_then(|v| self.idle_window(v, "idle_wake"));
        let window = lookup(root, "idle_sleep").and_then(|v| self.idle_window(v, "idle_sleep"));
        let min_awake = lookup(root, "idle_min_awake").and_then(|v| {
            let s = self.string(v, "idle_min_awake")?;
            match parse_duration(s) {
                Ok(d) if d <= chrono::TimeDelta::hours(24) => Some(d),
                Ok(_) => {
                    self.err(
                        v.span(),
                        format!("idle_min_awake \"{s}\" is longer than a day"),
                        Some("write a few minutes, like idle_min_awake = \"15m\"".to_string()),
                    );
                    None
                }
                Err(e) => {
                    self.err(v.span(), format!("idle_min_awake: {e}"), None);
                    None
                }
            }
        });
        let written = ["idle_wake", "idle_sleep", "idle_min_awake"]
            .iter()
            .find_map(|k| lookup(root, k));
        let first = written?;
        if !has_door {
            self.err(
                first.span(),
                "idle to sleep needs an [alb] table",
                Some(
                    "lightsout counts the requests its [alb] rules forward: add [alb] rules, or delete the idle_* keys"
                        .to_string(),
                ),
            );
            return None;
        }
        let wake_after = wake.or(window);
        let Some(wake_after) = wake_after else {
            self.err(
                first.span(),
                "`idle_min_awake` without `idle_wake` or `idle_sleep`",
                Some(
                    "add idle_wake = \"30m\" (wakes end after 30 minutes with no requests)"
                        .to_string(),
                ),
            );
            return None;
        };
        Some(IdleConfig {
            wake_after,
            window_after: window,
            min_awake: min_awake.unwrap_or(IdleConfig::DEFAULT_MIN_AWAKE),
        })
    }

    fn idle_window(&mut self, v: &Val<'_>, key: &str) -> Option<chrono::TimeDelta> {
        let s = self.string(v, key)?;
        match parse_duration(s) {
            Ok(d) if d < IDLE_FLOOR => {
                self.err(
                    v.span(),
                    format!("{key} \"{s}\" is shorter than 10 minutes"),
                    Some(format!(
                        "ALB request counts reach CloudWatch minutes late: write {key} = \"30m\" or longer"
                    )),
                );
                None
            }
            Ok(d) if d > chrono::TimeDelta::hours(24) => {
                self.err(
                    v.span(),
                    format!("{key} \"{s}\" is longer than a day"),
                    Some(format!("write hours at most, like {key} = \"45m\"")),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.err(v.span(), format!("{key}: {e}"), None);
                None
            }
        }
    }

    /// `mute_alarms = ["staging-"]`: alarm name prefixes, none empty.
    pub(super) fn mute_alarms(&mut self, root: &DeTable<'_>) -> Vec<String> {
        let Some(v) = lookup(root, "mute_alarms") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (s, span) in self.strings(v, "mute_alarms") {
            if s.trim().is_empty() {
                self.err(
                    span,
                    "an empty alarm prefix would mute every alarm of the account",
                    Some(
                        "write the environment's prefix, like mute_alarms = [\"staging-\"]"
                            .to_string(),
                    ),
                );
            } else if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
        out
    }

    /// The `[events]` table.
    pub(super) fn events(&mut self, t: &DeTable<'_>) -> EventsConfig {
        self.check_keys(t, EVENTS_KEYS, "[events]");
        let mut e = EventsConfig::default();
        if let Some(v) = lookup(t, "bus")
            && let Some(s) = self.string(v, "events.bus")
        {
            let ok = !s.is_empty()
                && s.len() <= 256
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"._-/:".contains(&c));
            if ok {
                e.bus = Some(s.to_string());
            } else {
                self.err(
                    v.span(),
                    format!("\"{s}\" is not an EventBridge bus name"),
                    Some("write bus = \"default\" for the account's default bus, or a bus name or ARN".to_string()),
                );
            }
        }
        if let Some(v) = lookup(t, "webhook_url")
            && let Some(s) = self.string(v, "events.webhook_url")
        {
            if s.starts_with("https://") || s.starts_with("http://") {
                e.webhook_url = Some(s.to_string());
            } else {
                self.err(
                    v.span(),
                    format!("\"{s}\" is not an http(s) URL"),
                    Some(
                        "write webhook_url = \"https://ci.example.com/hooks/lightsout\""
                            .to_string(),
                    ),
                );
            }
        }
        if let Some(v) = lookup(t, "webhook_secret_env")
            && let Some(s) = self.string(v, "events.webhook_secret_env")
        {
            let ok = !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
            if !ok {
                self.err(
                    v.span(),
                    format!("\"{s}\" is not an environment variable name"),
                    Some(
                        "name the variable that holds the secret, like webhook_secret_env = \"LIGHTSOUT_EVENTS_SECRET\" (never the secret itself)"
                            .to_string(),
                    ),
                );
            } else if e.webhook_url.is_none() {
                self.err(
                    v.span(),
                    "`webhook_secret_env` without `webhook_url`",
                    Some("add webhook_url, or delete webhook_secret_env".to_string()),
                );
            } else {
                e.webhook_secret_env = Some(s.to_string());
            }
        }
        e
    }
}
