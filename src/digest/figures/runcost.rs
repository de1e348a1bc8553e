//! What lightsout itself costs to run: a month of the Lambda form (invocations and GB-seconds,
//! its DynamoDB table's request units, Cost Explorer requests, CloudWatch Logs ingestion and its
//! one error alarm), priced from the same table as the digest ([`RunPrices`]). Pure: the counts
//! come in as values, recorded ones ([`RunTally`], kept by the Lambda as it runs) where there
//! are, modelled ones ([`RunProfile`]) where not, and every line says which.
//!
//! The per-pass request units follow the store's calls: per environment a lease taken (1 write)
//! and given back (1 write), a renewal every 30 s of a pass (1 write), the override read (1 read);
//! per invocation the run tally (1 read, 1 write); per resource acted on an audit row (1 write),
//! and per pass that acted its progress record (1 write). A digest reads about 10 cached items
//! and writes 5 per environment, and reads the audit trail (about 300 bytes a row, 4 KB a read
//! unit). Free tiers are shared by the account and are not taken off: these are list prices.

use serde::{Deserialize, Serialize};

use super::super::input::Money;
use super::super::prices::RunPrices;
use crate::model::thousands;

/// Bytes logged per pass (Lambda's START/END/REPORT lines and lightsout's pass line).
pub const LOG_BYTES_PER_PASS: u64 = 600;
/// Bytes logged per resource acted on (its `applied` line).
pub const LOG_BYTES_PER_ACTION: u64 = 400;
/// Bytes logged per digest.
pub const LOG_BYTES_PER_DIGEST: u64 = 3_000;
/// An audit row's size in the store, about.
pub const AUDIT_ROW_BYTES: u64 = 300;

/// What the Lambda recorded running this month (kept in the store by the Lambda handler).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTally {
    /// The UTC month, `2026-12`.
    pub month: String,
    /// Reconcile invocations.
    pub passes: u64,
    /// Their duration, summed, in milliseconds.
    pub pass_ms: u64,
    /// Digest invocations.
    pub digests: u64,
    /// Their duration, summed, in milliseconds.
    pub digest_ms: u64,
    /// Cost Explorer requests the digests made.
    pub ce_requests: u64,
    /// The function's memory, MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; 0: not known).
    pub memory_mb: u64,
    /// Runs on arm64 (else x86_64).
    pub arm: bool,
}

/// The model of a deployment's month, for what was not recorded: defaults from `deploy/`
/// (`deploy/terraform/modules/lightsout`: x86_64, 256 MB, `rate(1 minute)`, a digest a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunProfile {
    /// The region it runs in (prices).
    pub region: String,
    /// Lambda memory, MB.
    pub memory_mb: u64,
    /// arm64 (else x86_64).
    pub arm: bool,
    /// Seconds between scheduled reconcile invocations.
    pub every_secs: u64,
    /// Environments a pass reconciles.
    pub environments: u64,
    /// A pass's duration, milliseconds.
    pub pass_ms: u64,
    /// Digest invocations a day.
    pub digests_per_day: u64,
    /// A digest invocation's duration, milliseconds.
    pub digest_ms: u64,
    /// Cost Explorer requests per environment's digest (at most 3; 0 from the cache).
    pub ce_per_digest: u64,
}

impl RunProfile {
    /// The deployment in `deploy/`: 256 MB on x86_64 every minute, a digest a day of 2 Cost
    /// Explorer requests per environment, a pass of 300 ms and a digest of 2 s.
    pub fn deployed(region: &str, environments: u64) -> RunProfile {
        RunProfile {
            region: region.into(),
            memory_mb: 256,
            arm: false,
            every_secs: 60,
            environments: environments.max(1),
            pass_ms: 300,
            digests_per_day: 1,
            digest_ms: 2_000,
            ce_per_digest: 2,
        }
    }
}

/// What happened in the period, besides the invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Resources acted on (audit rows written).
    pub actions: u64,
    /// Passes that acted (progress records written).
    pub acting_passes: u64,
    /// Audit rows each digest reads (its trail window).
    pub audit_rows_read: u64,
    /// Whether these came from the audit trail (else modelled).
    pub recorded: bool,
}

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunCostLine {
    /// `Lambda requests`, `Lambda compute`, ...
    pub what: &'static str,
    /// How much, in its unit: `44,640 invocations`, `3,428 GB-s`.
    pub quantity: String,
    /// What it costs.
    pub cost: Money,
    /// Counted from what lightsout recorded (else modelled).
    pub recorded: bool,
}

/// What lightsout cost to run over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunCost {
    /// Each part.
    pub lines: Vec<RunCostLine>,
    /// The sum.
    pub total: Money,
    /// What was counted from records and what was modelled, for people.
    pub basis: String,
}

fn per_million(quantity: u64, per_million_nanos: i64) -> Money {
    let n = i128::from(quantity) * i128::from(per_million_nanos);
    Money(i64::try_from((n + 500_000) / 1_000_000).unwrap_or(i64::MAX))
}

fn each(quantity: u64, nanos: i64) -> Money {
    Money(i64::try_from(i128::from(quantity) * i128::from(nanos)).unwrap_or(i64::MAX))
}

fn grouped(n: u64) -> String {
    thousands(i64::try_from(n).unwrap_or(i64::MAX))
}

/// What running lightsout cost over `secs` seconds (a month to date, or a whole month):
/// `tally` where lightsout recorded it, `profile` where not.
pub fn run_cost(
    profile: &RunProfile,
    tally: Option<&RunTally>,
    activity: Activity,
    secs: u64,
    prices: &RunPrices,
) -> RunCost {
    let envs = profile.environments.max(1);
    let days = secs.div_ceil(86_400);
    let (passes, pass_ms, digests, digest_ms, ce, memory_mb, arm, recorded) = match tally {
        Some(t) => (
            t.passes,
            t.pass_ms,
            t.digests,
            t.digest_ms,
            t.ce_requests,
            if t.memory_mb > 0 {
                t.memory_mb
            } else {
                profile.memory_mb
            },
            t.arm,
            true,
        ),
        None => {
            let passes = secs / profile.every_secs.max(1);
            let digests = days * profile.digests_per_day;
            (
                passes,
                passes * profile.pass_ms,
                digests,
                digests * profile.digest_ms,
                digests * envs * profile.ce_per_digest,
                profile.memory_mb,
                profile.arm,
                false,
            )
        }
    };
    let invocations = passes + digests;
    // Billed in GB-ms; shown in GB-s.
    let gb_ms = (pass_ms + digest_ms) * memory_mb / 1024;
    let gb_price = if arm {
        prices.lambda_arm_gb_seconds_per_million
    } else {
        prices.lambda_x86_gb_seconds_per_million
    };
    // A renewal every 30 s of a pass: an upper bound from the summed time (a pass shorter
    // than 30 s renews nothing).
    let renewals = pass_ms / 30_000;
    let writes = passes * 2 * envs
        + renewals * envs
        + passes
        + activity.actions
        + activity.acting_passes
        + digests * 5 * envs;
    let audit_read_units = (activity.audit_rows_read * AUDIT_ROW_BYTES).div_ceil(4_096);
    let reads = passes * envs + passes + digests * envs * (10 + audit_read_units);
    let log_bytes = passes * LOG_BYTES_PER_PASS
        + activity.actions * LOG_BYTES_PER_ACTION
        + digests * LOG_BYTES_PER_DIGEST;
    // Alarms are billed per month, pro rata.
    let alarm = Money(
        i64::try_from(i128::from(prices.alarm_month) * i128::from(secs) / (30 * 86_400))
            .unwrap_or(i64::MAX),
    );
    let lines = vec![
        RunCostLine {
            what: "Lambda requests",
            quantity: format!("{} invocations", grouped(invocations)),
            cost: per_million(invocations, prices.lambda_requests_per_million),
            recorded,
        },
        RunCostLine {
            what: "Lambda compute",
            quantity: format!(
                "{} GB-s ({} MB, {})",
                grouped(gb_ms.div_ceil(1_000)),
                memory_mb,
                if arm { "arm64" } else { "x86_64" }
            ),
            // Per million GB-s on GB-ms: a thousand million GB-ms.
            cost: Money(
                i64::try_from(
                    (i128::from(gb_ms) * i128::from(gb_price) + 500_000_000) / 1_000_000_000,
                )
                .unwrap_or(i64::MAX),
            ),
            recorded,
        },
        RunCostLine {
            what: "DynamoDB reads",
            quantity: format!("{} read units", grouped(reads)),
            cost: per_million(reads, prices.dynamodb_reads_per_million),
            recorded: false,
        },
        RunCostLine {
            what: "DynamoDB writes",
            quantity: format!("{} write units", grouped(writes)),
            cost: per_million(writes, prices.dynamodb_writes_per_million),
            recorded: false,
        },
        RunCostLine {
            what: "Cost Explorer",
            quantity: format!("{} requests", grouped(ce)),
            cost: each(ce, prices.cost_explorer_request),
            recorded,
        },
        RunCostLine {
            what: "CloudWatch Logs",
            quantity: format!("{:.1} MB ingested", log_bytes as f64 / 1e6),
            cost: Money(
                i64::try_from(
                    i128::from(log_bytes) * i128::from(prices.logs_ingested_gb) / 1_073_741_824,
                )
                .unwrap_or(i64::MAX),
            ),
            recorded: false,
        },
        RunCostLine {
            what: "CloudWatch alarm",
            quantity: "1 alarm".into(),
            cost: alarm,
            recorded: false,
        },
    ];
    let total = lines.iter().map(|l| l.cost).sum();
    let basis = if recorded {
        format!(
            "invocations, their duration and Cost Explorer requests as lightsout recorded them; DynamoDB, logs and the alarm modelled from them{}",
            if activity.recorded {
                " and the audit trail"
            } else {
                ""
            }
        )
    } else {
        format!(
            "modelled: the Lambda form as deploy/ sets it up ({} MB {}, every {} s, a digest a day), {} per pass; nothing recorded yet",
            memory_mb,
            if arm { "arm64" } else { "x86_64" },
            profile.every_secs,
            if profile.pass_ms >= 1_000 {
                format!("{:.1} s", profile.pass_ms as f64 / 1e3)
            } else {
                format!("{} ms", profile.pass_ms)
            }
        )
    };
    RunCost {
        lines,
        total,
        basis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::prices::PriceTable;

    /// A 30-day month of the deployed Lambda in us-east-1, idle but for the schedule: 43,200
    /// passes and 30 digests, priced line by line.
    #[test]
    fn a_month_of_the_deployed_lambda_is_priced_line_by_line() {
        let prices = PriceTable::shipped().run_prices("us-east-1").unwrap();
        let c = run_cost(
            &RunProfile::deployed("us-east-1", 1),
            None,
            Activity::default(),
            30 * 86_400,
            &prices,
        );
        let line = |w: &str| c.lines.iter().find(|l| l.what == w).unwrap().clone();
        assert_eq!(line("Lambda requests").quantity, "43,230 invocations");
        // 43,200 × 0.3 s + 30 × 2 s = 13,020 s at 0.25 GB = 3,255 GB-s × $0.0000166667.
        assert_eq!(
            line("Lambda compute").quantity,
            "3,255 GB-s (256 MB, x86_64)"
        );
        assert_eq!(line("Lambda compute").cost.to_string(), "$0.05");
        assert_eq!(line("Cost Explorer").cost.to_string(), "$0.60");
        assert!(!line("Cost Explorer").recorded);
        assert!(
            c.total > Money::from_cents(70) && c.total < Money::from_cents(100),
            "{}",
            c.total
        );
        assert!(c.basis.starts_with("modelled"), "{}", c.basis);
    }

    /// Recorded counts replace the model's, and say so.
    #[test]
    fn recorded_counts_are_used_where_there_are() {
        let prices = PriceTable::shipped().run_prices("ap-southeast-2").unwrap();
        let tally = RunTally {
            month: "2026-12".into(),
            passes: 1_000,
            pass_ms: 1_000 * 500,
            digests: 3,
            digest_ms: 6_000,
            ce_requests: 7,
            memory_mb: 512,
            arm: true,
        };
        let c = run_cost(
            &RunProfile::deployed("ap-southeast-2", 1),
            Some(&tally),
            Activity::default(),
            3 * 86_400,
            &prices,
        );
        let line = |w: &str| c.lines.iter().find(|l| l.what == w).unwrap().clone();
        assert_eq!(line("Lambda requests").quantity, "1,003 invocations");
        assert_eq!(line("Lambda compute").quantity, "253 GB-s (512 MB, arm64)");
        assert_eq!(line("Cost Explorer").cost.to_string(), "$0.07");
        assert!(line("Cost Explorer").recorded);
        assert!(c.basis.starts_with("invocations"), "{}", c.basis);
    }
}
