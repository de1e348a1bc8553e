//! The daily cost and health digest: spend against budget, what sleeping saved, who woke what,
//! and whether the environment is healthy.
//!
//! - [`input`]: what a digest is made from; [`collect`] gathers it through the [`Ports`]
//!   (billing, inspection) and the store, section by section, each failing on its own.
//! - [`prices`]: the price table shipped with the code (`prices.toml`), and AWS's Price List
//!   laid over it.
//! - [`figures`]: every figure, computed purely from the input and the prices.
//! - [`render`]: Markdown, Slack Block Kit, plain text and email.
//! - [`chart`]: the month's daily spend as a PNG, and a sparkline for text channels.
//! - [`fixtures`]: a realistic input (the reference environment) for tests and samples.
//! - [`deliver`]: the channels, each retried on its own.
//! - [`summary`]: the figures the status page shows, kept in the store by each digest made.
//! - [`running`]: what the Lambda records about running itself each month, which
//!   [`figures::run_cost`] prices as "lightsout itself cost about $X this month".
//!
//! [`Digester::run`] ties them together and records, per environment and day, which channels
//! got the digest, so it is never sent twice and a failed channel shows in the next one.

mod all;
pub mod chart;
mod collect;
mod deliver;
pub mod figures;
pub mod fixtures;
pub mod input;
pub mod prices;
pub mod render;
pub mod running;
pub mod summary;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::model::{Channel, Config, Environment};
use crate::ports::{Billing, Inspect, Outbox, Ports, Pricing};
use crate::store::Store;

/// How long the record of a sent digest is kept.
pub(crate) const SENT_RECORD: TimeDelta = TimeDelta::days(40);

/// Makes and sends digests.
pub struct Digester {
    /// The environments.
    pub config: Config,
    /// Costs, forecasts and budgets.
    pub billing: Arc<dyn Billing>,
    /// The environment's resources, their sizes and health.
    pub inspect: Arc<dyn Inspect>,
    /// Email, SNS and Slack.
    pub outbox: Arc<dyn Outbox>,
    /// List prices from AWS's Price List.
    pub pricing: Arc<dyn Pricing>,
    /// Where sent digests, cached Cost Explorer answers and the audit trail are.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Waits between attempts of a failing channel (so `len() + 1` attempts).
    pub backoff: Vec<Duration>,
    /// Timeout of each HTTP health check.
    pub probe_timeout: Duration,
}

/// What [`Digester::run`] should do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Print the Markdown and send nothing, record nothing, cache nothing.
    pub dry_run: bool,
    /// Send to every channel even if the day's digest went out already.
    pub force: bool,
    /// Make the figures even when no channel is left to send to (for `--output json`).
    pub figures: bool,
    /// The UTC billing day to report on; `None`: the most recent one with cost data.
    pub day: Option<NaiveDate>,
}

/// What came of one environment's digest.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The environment.
    pub env: String,
    /// The local date it was made on (the morning's digest): what "sent once a day" counts.
    pub edition: NaiveDate,
    /// The UTC billing day reported on, when the digest was made.
    pub day: Option<NaiveDate>,
    /// Channels sent to now, and how it went.
    pub sent: Vec<(String, Result<(), String>)>,
    /// Channels skipped because they already got this day's digest.
    pub already_sent: Vec<String>,
    /// Cost Explorer requests this digest made (at most 3; 0 when all came from the cache).
    pub cost_explorer_requests: usize,
    /// AWS requests made meanwhile, by operation (every digest running at the time included).
    pub requests: std::collections::BTreeMap<String, u64>,
    /// Wall time to gather, compute and send, in milliseconds.
    pub millis: u128,
    /// A dry run: printed on standard output, sent nowhere, recorded nowhere.
    pub dry_run: bool,
    /// The figures, when they were made.
    #[serde(skip)]
    pub figures: Option<Box<figures::Digest>>,
    /// The combined figures, for the combined digest.
    #[serde(skip)]
    pub combined: Option<Box<figures::Combined>>,
}

impl std::fmt::Display for RunReport {
    /// `staging, digest of 2026-11-30 (billing day 2026-11-28 UTC): slack ok, email FAILED
    /// (...); Cost Explorer requests: 2; 412 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = self
            .sent
            .iter()
            .map(|(c, res)| match res {
                Ok(()) if self.dry_run => {
                    "printed (dry run: sent nowhere, recorded nowhere)".into()
                }
                Ok(()) => format!("{c} ok"),
                Err(e) => format!("{c} FAILED ({e})"),
            })
            .collect();
        if !self.already_sent.is_empty() {
            parts.push(format!(
                "already sent to {} (use --force to send again)",
                self.already_sent.join(", ")
            ));
        }
        let day = match self.day {
            Some(d) => format!(" (billing day {d} UTC)"),
            None => String::new(),
        };
        write!(
            f,
            "{}, digest of {}{day}: {}; Cost Explorer requests: {}; {}; {} ms",
            self.env,
            self.edition,
            if parts.is_empty() {
                "nothing to send".to_string()
            } else {
                parts.join(", ")
            },
            self.cost_explorer_requests,
            crate::ports::describe_requests(&self.requests),
            self.millis
        )
    }
}

impl RunReport {
    /// Whether a channel failed.
    pub fn failed(&self) -> bool {
        self.sent.iter().any(|(_, r)| r.is_err())
    }
}

/// Which channels got a day's digest, and which failed and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Sent {
    pub(crate) ok: Vec<String>,
    pub(crate) failed: Vec<(String, String)>,
    pub(crate) at: Option<DateTime<Utc>>,
}

impl Digester {
    /// The AWS requests made since `before` (a count by operation), by operation.
    fn requests_since(
        &self,
        before: &std::collections::BTreeMap<String, u64>,
    ) -> std::collections::BTreeMap<String, u64> {
        self.inspect
            .requests()
            .into_iter()
            .filter_map(|(op, n)| {
                let d = n - before.get(&op).copied().unwrap_or(0);
                (d > 0).then_some((op, d))
            })
            .collect()
    }

    /// A digester with the default retry (after 2 s, then 8 s) and probe timeout (5 s).
    pub fn new(
        config: Config,
        ports: Ports,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Digester {
        Digester {
            config,
            billing: ports.billing,
            inspect: ports.inspect,
            outbox: ports.outbox,
            pricing: ports.pricing,
            store,
            clock,
            backoff: vec![Duration::from_secs(2), Duration::from_secs(8)],
            probe_timeout: Duration::from_secs(5),
        }
    }

    /// Makes the digest of `env` and sends it to the channels that have not had today's (the
    /// environment's local date).
    pub async fn run(&self, env: &Environment, opts: RunOptions) -> RunReport {
        let start = std::time::Instant::now();
        let before = self.inspect.requests();
        let edition = self.clock.now().with_timezone(&env.timezone).date_naive();
        let key = match opts.day {
            None => sent_key(&env.name, edition),
            // A billing day asked for by hand is its own digest.
            Some(d) => format!("digest-sent:{}:billing-day:{d}", env.name),
        };
        let mut record: Sent = self.load(&key).await.unwrap_or_default();
        let channels: Vec<Channel> = if opts.dry_run {
            if opts.figures {
                Vec::new()
            } else {
                vec![Channel::Stdout]
            }
        } else {
            env.digest
                .channels
                .iter()
                .copied()
                .filter(|c| opts.force || !record.ok.iter().any(|n| n == c.name()))
                .collect()
        };
        let already_sent: Vec<String> = env
            .digest
            .channels
            .iter()
            .filter(|c| !opts.dry_run && !channels.contains(c))
            .map(|c| c.name().to_string())
            .collect();
        let mut sent = Vec::new();
        let mut figures_made = None;
        let mut ce_requests = 0;
        let mut day = None;
        if !channels.is_empty() || opts.figures {
            let input = self.gather(env, opts.day, !opts.dry_run).await;
            ce_requests = input.cost_explorer_requests;
            day = Some(input.day);
            let digest = figures::compute(&input, &input.prices);
            if !opts.dry_run {
                // The status page shows these figures: it never asks Cost Explorer itself.
                let summary = summary::Summary::of(&digest);
                if let Err(e) = self
                    .save(&summary::key(&env.name), &summary, SENT_RECORD)
                    .await
                {
                    tracing::warn!(env = %env.name, %edition, error = %e, "digest: cannot keep its figures for the status page");
                }
            }
            for (c, r) in self
                .deliver(env, deliver::Report::One(&digest), &channels)
                .await
            {
                sent.push((c.name().to_string(), r));
            }
            figures_made = Some(Box::new(digest));
        }
        if !opts.dry_run && !sent.is_empty() {
            for (c, r) in &sent {
                record.failed.retain(|(n, _)| n != c);
                match r {
                    Ok(()) => {
                        if !record.ok.contains(c) {
                            record.ok.push(c.clone());
                        }
                    }
                    Err(e) => record.failed.push((c.clone(), e.clone())),
                }
            }
            let now = self.clock.now();
            record.at = Some(now);
            for saved in [
                self.save(&key, &record, SENT_RECORD).await,
                self.save(&last_key(&env.name), &now, SENT_RECORD).await,
            ] {
                if let Err(e) = saved {
                    tracing::error!(env = %env.name, %edition, error = %e, "digest: cannot record what was sent; it may be sent again");
                }
            }
        }
        let requests = self.requests_since(&before);
        let report = RunReport {
            env: env.name.clone(),
            edition,
            day,
            sent,
            already_sent,
            cost_explorer_requests: ce_requests,
            requests,
            millis: start.elapsed().as_millis(),
            dry_run: opts.dry_run,
            figures: figures_made,
            combined: None,
        };
        for (c, r) in &report.sent {
            match r {
                Ok(()) if opts.dry_run => {}
                Ok(()) => tracing::info!(env = %env.name, %edition, channel = %c, "digest sent"),
                Err(e) => {
                    tracing::error!(env = %env.name, %edition, channel = %c, error = %e, "digest not sent")
                }
            }
        }
        report
    }

    /// The digests of every environment, made now.
    ///
    /// Environments run at once: one slow channel does not hold up the others' digests (in
    /// Lambda, all must finish within one invocation).
    pub async fn run_all(&self, opts: RunOptions) -> Vec<RunReport> {
        let runs = self
            .config
            .environments
            .iter()
            .map(|env| self.run(env, opts));
        futures_util::future::join_all(runs).await
    }

    /// When the previous digest of `env` was made.
    async fn last_digest(&self, env: &Environment) -> Option<DateTime<Utc>> {
        self.load(&last_key(&env.name)).await
    }

    /// Channels that failed the previous day's digest (the day before `edition`) and never got
    /// it.
    async fn previous_problems(&self, env: &Environment, edition: NaiveDate) -> Vec<String> {
        let prev: Sent = self
            .load(&sent_key(&env.name, edition - TimeDelta::days(1)))
            .await
            .unwrap_or_default();
        prev.failed
            .into_iter()
            .map(|(c, e)| format!("{c}: {e}"))
            .collect()
    }

    /// A value kept by [`Digester::save`], if it is there and readable.
    async fn load<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        match self.store.cache_get(key, self.clock.now()).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(key, error = %e, "digest: cannot read the store");
                None
            }
        }
    }

    /// Keeps `value` as JSON in the store's cache for `keep`.
    async fn save<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        keep: TimeDelta,
    ) -> Result<(), crate::store::StoreError> {
        let text = serde_json::to_string(value)
            .map_err(|e| crate::store::StoreError(format!("cannot encode {key}: {e}")))?;
        self.store
            .cache_put(key, &text, self.clock.now() + keep)
            .await
    }
}

/// The record of what got the digest made on the local date `edition`.
fn sent_key(env: &str, edition: NaiveDate) -> String {
    format!("digest-sent:{env}:{edition}")
}

fn last_key(env: &str) -> String {
    format!("digest-last:{env}")
}
