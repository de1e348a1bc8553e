//! The combined digest for finance: every environment's digest made (from the cache when the
//! environments' own digests were made before: then it asks Cost Explorer nothing), their
//! money in one message, sent to the channels of the environments whose `[digest]` says
//! `combined = true` (one Slack message however many say so), once a day.

use std::collections::BTreeSet;

use super::deliver::Report;
use super::figures::{self, Combined};
use super::{Digester, RunOptions, RunReport, Sent, prices};
use crate::model::{Channel, Environment};

impl Digester {
    /// Makes the combined digest of every environment and sends it; with `dry_run`, or when no
    /// environment asks for it, prints it.
    pub async fn run_combined(&self, opts: RunOptions) -> RunReport {
        let start = std::time::Instant::now();
        let before = self.inspect.requests();
        let now = self.clock.now();
        let targets: Vec<&Environment> = self
            .config
            .environments
            .iter()
            .filter(|e| e.digest.combined)
            .collect();
        let tz = targets
            .first()
            .copied()
            .or(self.config.environments.first())
            .map_or(chrono_tz::UTC, |e| e.timezone);
        let edition = now.with_timezone(&tz).date_naive();
        let key = match opts.day {
            None => format!("digest-sent:*combined*:{edition}"),
            Some(d) => format!("digest-sent:*combined*:billing-day:{d}"),
        };
        let mut record: Sent = self.load(&key).await.unwrap_or_default();
        // (environment whose channel settings send it, channel, name in the record)
        let mut pairs: Vec<(&Environment, Channel, String)> = Vec::new();
        let printed_only = opts.dry_run || targets.is_empty();
        if printed_only {
            if !opts.figures
                && let Some(e) = self.config.environments.first()
            {
                pairs.push((e, Channel::Stdout, "stdout".into()));
            }
        } else {
            let mut slack = false;
            for e in &targets {
                for c in &e.digest.channels {
                    let name = match c {
                        // One webhook: one message, whichever environment sends it.
                        Channel::Slack if slack => continue,
                        Channel::Slack => {
                            slack = true;
                            "slack".to_string()
                        }
                        Channel::Stdout => "stdout".to_string(),
                        other => format!("{}/{}", e.name, other.name()),
                    };
                    pairs.push((e, *c, name));
                }
            }
        }
        let all_names: BTreeSet<String> = pairs.iter().map(|p| p.2.clone()).collect();
        if !opts.dry_run && !opts.force {
            pairs.retain(|p| !record.ok.contains(&p.2));
        }
        let already_sent: Vec<String> = all_names
            .into_iter()
            .filter(|n| !pairs.iter().any(|p| &p.2 == n))
            .collect();
        let mut sent = Vec::new();
        let mut combined = None;
        let mut ce_requests = 0;
        if !pairs.is_empty() || opts.figures {
            let inputs = futures_util::future::join_all(
                self.config
                    .environments
                    .iter()
                    .map(|e| self.gather(e, opts.day, !opts.dry_run)),
            )
            .await;
            ce_requests = inputs.iter().map(|i| i.cost_explorer_requests).sum();
            let digests: Vec<figures::Digest> = inputs
                .iter()
                .map(|i| figures::compute(i, prices::PriceTable::shipped()))
                .collect();
            let c: Combined = figures::combine(&digests, now);
            let sends = pairs.iter().map(|(e, ch, name)| {
                let c = &c;
                async move {
                    let r = self.deliver(e, Report::All(c, tz), &[*ch]).await;
                    let result = r
                        .into_iter()
                        .next()
                        .map_or(Err("not tried".to_string()), |(_, r)| r);
                    (name.clone(), result)
                }
            });
            sent = futures_util::future::join_all(sends).await;
            combined = Some(Box::new(c));
        }
        if !opts.dry_run && !sent.is_empty() {
            for (c, r) in &sent {
                record.failed.retain(|(n, _)| n != c);
                match r {
                    Ok(()) if !record.ok.contains(c) => record.ok.push(c.clone()),
                    Ok(()) => {}
                    Err(e) => record.failed.push((c.clone(), e.clone())),
                }
            }
            record.at = Some(self.clock.now());
            if let Err(e) = self.save(&key, &record, super::SENT_RECORD).await {
                tracing::error!(%edition, error = %e, "combined digest: cannot record what was sent; it may be sent again");
            }
        }
        let requests = self.requests_since(&before);
        if printed_only && !opts.dry_run && !opts.figures {
            tracing::info!(
                "combined digest: no environment's [digest] says combined = true; printed only"
            );
        }
        RunReport {
            env: "every environment".into(),
            edition,
            day: combined.as_ref().map(|c| c.day),
            sent,
            already_sent,
            cost_explorer_requests: ce_requests,
            requests,
            millis: start.elapsed().as_millis(),
            dry_run: printed_only,
            figures: None,
            combined,
        }
    }
}
