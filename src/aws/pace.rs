//! Client-side pacing: lightsout spends AWS's API budget at the rate AWS publishes for it, rather
//! than sending as fast as it can and letting throttling answers find the limit.
//!
//! AWS throttles per account and region with a token bucket per *category* of actions (ECS:
//! "Service read", "Service modify", "Tag modify"…; RDS: one bucket for every call; EC2: per
//! action). A [`Pacer`] holds one bucket per category for one account and region (one
//! [`super::Clients`]), with the published burst and refill, shared by reads and writes of the
//! category. Every call of the resource kinds' clients waits for a token before it is sent
//! ([`Pacer::pace`]). The buckets adapt: a throttling answer (another tool in the account is
//! spending the same budget) halves the category's rate and empties its burst; the rate then
//! recovers additively, a tenth of the published rate per second. Reads are also bounded in
//! number at once ([`READS_IN_FLIGHT`]), so observing 50 clusters does not open 400 connections.
//!
//! The figures, and where AWS publishes none the assumption made, are in [`budget`]; sources in
//! `benches/README.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;

/// Reads (Describe*, List*, Get*) in flight at once, per account and region.
pub const READS_IN_FLIGHT: usize = 8;

/// How much of AWS's published API budget lightsout paces itself to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// No client-side pacing and no bound on reads in flight: calls go as fast as
    /// `concurrency` allows, as before pacing existed (the SDK's adaptive retry still backs
    /// off on throttling).
    Off,
    /// This percentage of each category's published burst and refill (100: all of it; less
    /// leaves room for the other tools in the account).
    Percent(u32),
}

impl Default for Pace {
    fn default() -> Self {
        Pace::Percent(100)
    }
}

impl Pace {
    /// Parses `off`, `on` (100%) or a percentage (`50%`, `50`).
    pub fn parse(s: &str) -> Result<Pace, String> {
        match s.trim() {
            "off" => Ok(Pace::Off),
            "on" => Ok(Pace::Percent(100)),
            other => match other.trim_end_matches('%').trim().parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => Ok(Pace::Percent(n)),
                _ => Err(format!(
                    "{other:?} is not a pace: write `off`, `on`, or a share of AWS's published rate such as `50%`"
                )),
            },
        }
    }
}

/// A category's published (or assumed) token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Tokens the bucket holds when full.
    pub burst: f64,
    /// Tokens added per second.
    pub refill: f64,
}

const fn b(burst: u32, refill: u32) -> Budget {
    Budget {
        burst: burst as f64,
        refill: refill as f64,
    }
}

/// AWS's bucket for an operation of a service (the SDK's service name, as in its `Metadata`):
/// the category's name and budget, or `None` for an operation lightsout does not pace.
///
/// - ECS: the published table, per category (Amazon ECS API Reference, "Request throttling").
/// - RDS (and DocumentDB and Neptune, through the RDS API): 300 burst, 12/s for every call
///   (Amazon RDS User Guide, "API throttling").
/// - EC2: per action (EC2 Developer Guide, "Request throttling"): filtered describes 100/20,
///   StopInstances in the default mutating bucket 50/5, StartInstances 5/2, CreateTags and
///   DeleteTags 100/10.
/// - Application Auto Scaling, EC2 Auto Scaling, ELBv2, Redshift, ElastiCache publish no
///   figures. **Assumed**: reads 50 burst / 10 per s, writes 20 burst / 5 per s (ECS's
///   "Service modify" refill, the tightest category a wake goes through).
pub fn budget(service: &str, op: &str) -> Option<(&'static str, Budget)> {
    let read = is_read(op);
    Some(match service {
        "ECS" => match op {
            "ListClusters" | "DescribeClusters" => ("ecs cluster read", b(50, 20)),
            "ListServices" | "DescribeServices" => ("ecs service read", b(100, 20)),
            "UpdateService" | "CreateService" | "DeleteService" => ("ecs service modify", b(50, 5)),
            "TagResource" | "UntagResource" => ("ecs tag modify", b(20, 10)),
            "ListTagsForResource" => ("ecs tag read", b(50, 20)),
            "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => {
                ("ecs task definition read", b(50, 20))
            }
            "DescribeTasks"
            | "ListTasks"
            | "DescribeContainerInstances"
            | "ListContainerInstances" => ("ecs cluster resource read", b(100, 20)),
            _ => return None,
        },
        "RDS" => ("rds", b(300, 12)),
        "EC2" => match op {
            "StartInstances" => ("ec2 StartInstances", b(5, 2)),
            "StopInstances" => ("ec2 mutating", b(50, 5)),
            "CreateTags" | "DeleteTags" => ("ec2 tags", b(100, 10)),
            _ if read => ("ec2 non-mutating", b(100, 20)),
            _ => ("ec2 mutating", b(50, 5)),
        },
        "Application Auto Scaling" if read => ("application autoscaling read", b(50, 10)),
        "Application Auto Scaling" => ("application autoscaling modify", b(20, 5)),
        "Auto Scaling" if read => ("autoscaling read", b(50, 10)),
        "Auto Scaling" => ("autoscaling modify", b(20, 5)),
        "Elastic Load Balancing v2" if read => ("elbv2 read", b(50, 10)),
        "Elastic Load Balancing v2" => ("elbv2 modify", b(20, 5)),
        "Redshift" if read => ("redshift read", b(50, 10)),
        "Redshift" => ("redshift modify", b(20, 5)),
        "ElastiCache" if read => ("elasticache read", b(50, 10)),
        "ElastiCache" => ("elasticache modify", b(20, 5)),
        _ => return None,
    })
}

/// Whether an operation only reads.
pub fn is_read(op: &str) -> bool {
    op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get")
}

/// One adaptive token bucket. Time is seconds since any fixed start, given by the caller, so the
/// arithmetic is testable without a clock.
#[derive(Debug, Clone)]
pub struct Bucket {
    burst: f64,
    max_rate: f64,
    rate: f64,
    /// Tokens now; below zero, tokens already promised to callers that are waiting.
    tokens: f64,
    at: f64,
    /// When the rate was last cut.
    cut_at: Option<f64>,
}

/// The share of a published refill the pacer sends at: a request that reaches AWS a little
/// sooner after the one before than it was sent (network jitter) must still find a token.
const REFILL_MARGIN: f64 = 0.97;

/// The lowest a throttled rate goes, as a share of the published one.
const FLOOR_SHARE: f64 = 1.0 / 16.0;
/// The rate regained per second after a throttle, as a share of the published one.
const RECOVERY_SHARE: f64 = 0.1;
/// Seconds between two cuts of a rate.
const CUT_EVERY: f64 = 1.0;

impl Bucket {
    /// A full bucket at time `at`.
    pub fn new(budget: Budget, at: f64) -> Bucket {
        Bucket {
            burst: budget.burst.max(1.0),
            max_rate: budget.refill.max(0.01),
            rate: budget.refill.max(0.01),
            tokens: budget.burst.max(1.0),
            at,
            cut_at: None,
        }
    }

    fn advance(&mut self, at: f64) {
        let dt = (at - self.at).max(0.0);
        self.at = self.at.max(at);
        // The rate recovers first (additively), and the tokens refill at the rate meanwhile.
        let rate_before = self.rate;
        self.rate = (self.rate + self.max_rate * RECOVERY_SHARE * dt).min(self.max_rate);
        let mean = (rate_before + self.rate) / 2.0;
        self.tokens = (self.tokens + mean * dt).min(self.burst);
    }

    /// Takes a token at `at`; returns how many seconds the caller waits before sending.
    pub fn take(&mut self, at: f64) -> f64 {
        self.advance(at);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            0.0
        } else {
            -self.tokens / self.rate
        }
    }

    /// AWS answered "throttled" at `at`: its bucket is empty (someone else spends it too), so
    /// this one halves its rate and gives up its burst; the retry the SDK makes costs a token.
    /// The calls already in flight when AWS's bucket ran dry are throttled together: they are
    /// one signal, so the rate is cut at most once per [`CUT_EVERY`] seconds.
    pub fn throttled(&mut self, at: f64) {
        self.advance(at);
        if self.cut_at.is_none_or(|t| at - t >= CUT_EVERY) {
            self.rate = (self.rate / 2.0).max(self.max_rate * FLOOR_SHARE);
            self.cut_at = Some(at);
        }
        self.tokens = self.tokens.min(0.0) - 1.0;
    }

    /// The rate now, tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

/// The buckets of one account and region, and what was throttled.
pub struct Pacer {
    pace: Pace,
    start: Instant,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    reads: tokio::sync::Semaphore,
    throttled: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// Held while a read is in flight.
pub struct Permit<'a>(#[allow(dead_code)] Option<tokio::sync::SemaphorePermit<'a>>);

impl Pacer {
    /// Buckets at `pace`; `throttled` counts throttling answers by operation (shared by every
    /// pacer of one [`super::AwsCloud`]).
    pub fn new(pace: Pace, throttled: Arc<Mutex<BTreeMap<String, u64>>>) -> Pacer {
        Pacer {
            pace,
            start: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
            reads: tokio::sync::Semaphore::new(READS_IN_FLIGHT),
            throttled,
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn scaled(&self, budget: Budget) -> Option<Budget> {
        match self.pace {
            Pace::Off => None,
            Pace::Percent(p) => Some(Budget {
                // One token spare: AWS's bucket starts counting when the first request
                // arrives, and a later one may arrive sooner after it than it was sent.
                burst: (budget.burst * f64::from(p) / 100.0 - 1.0).max(1.0),
                refill: budget.refill * f64::from(p) / 100.0 * REFILL_MARGIN,
            }),
        }
    }

    /// Waits until `op` of `service` may be sent: a read waits for one of the reads in flight,
    /// then every call for a token of its category. Hold the permit until the call is answered.
    pub async fn pace(&self, service: &str, op: &str) -> Permit<'_> {
        let permit = if is_read(op) && self.pace != Pace::Off {
            // The semaphore is never closed.
            self.reads.acquire().await.ok()
        } else {
            None
        };
        if let Some((name, budget)) = budget(service, op)
            && let Some(budget) = self.scaled(budget)
        {
            let wait = {
                let at = self.now();
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                buckets
                    .entry(name)
                    .or_insert_with(|| Bucket::new(budget, at))
                    .take(at)
            };
            if wait > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            }
        }
        Permit(permit)
    }

    /// AWS throttled `op` of `service`: counted, and its category slows down.
    pub fn throttled(&self, service: &str, op: &str) {
        *self
            .throttled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(op.to_string())
            .or_default() += 1;
        if let Some((name, budget)) = budget(service, op)
            && let Some(budget) = self.scaled(budget)
        {
            let at = self.now();
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            buckets
                .entry(name)
                .or_insert_with(|| Bucket::new(budget, at))
                .throttled(at);
        }
    }
}

/// `call.send().paced(c, "ECS", "UpdateService").await`: the call waits for its turn
/// ([`Pacer::pace`]) before it is sent, outside the SDK's attempt and call timeouts (waiting
/// for a token is not AWS being slow), and holds its read permit until answered.
pub(crate) trait Paced: Future + Sized {
    fn paced<'a>(
        self,
        c: &'a super::Clients,
        service: &'static str,
        op: &'static str,
    ) -> impl Future<Output = Self::Output> + Send + 'a
    where
        Self: Send + 'a;
}

impl<F: Future + Sized> Paced for F {
    fn paced<'a>(
        self,
        c: &'a super::Clients,
        service: &'static str,
        op: &'static str,
    ) -> impl Future<Output = F::Output> + Send + 'a
    where
        F: Send + 'a,
    {
        // Boxed: SDK call futures are large, and a pass nests many of them (observing every
        // kind at once); on the heap they do not grow the stack of the task that awaits them.
        let call = Box::pin(self);
        async move {
            let _permit = c.pace(service, op).await;
            call.await
        }
    }
}

/// Error codes AWS throttles with (the SDK's own list of throttling codes, less the ones no
/// paced service sends).
const THROTTLING: [&str; 6] = [
    "<Code>Throttling</Code>",
    "\"ThrottlingException\"",
    "<Code>RequestLimitExceeded</Code>",
    "\"TooManyRequestsException\"",
    "<Code>ThrottlingException</Code>",
    "\"Throttling\"",
];

/// Sees every attempt's answer: a throttling answer is counted and slows its category down.
#[derive(Clone)]
pub struct ThrottleWatch(pub Arc<Pacer>);

impl std::fmt::Debug for ThrottleWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThrottleWatch")
    }
}

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "lightsout::ThrottleWatch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        let status = response.status().as_u16();
        if status != 400 && status != 429 && status != 503 {
            return Ok(());
        }
        let header = response
            .headers()
            .get("x-amzn-errortype")
            .is_some_and(|v| v.starts_with("Throttling") || v.starts_with("RequestLimitExceeded"));
        let body = response
            .body()
            .bytes()
            .map(String::from_utf8_lossy)
            .is_some_and(|text| THROTTLING.iter().any(|c| text.contains(c)));
        if header || body {
            let (service, op) = cfg
                .load::<Metadata>()
                .map_or(("?", "unknown"), |m| (m.service(), m.name()));
            self.0.throttled(service, op);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Bucket, CUT_EVERY, FLOOR_SHARE, Pace, b, budget};

    /// A full bucket serves its burst at once, then one token per 1/refill seconds, in order.
    #[test]
    fn burst_then_refill_rate() {
        let mut k = Bucket::new(b(50, 5), 0.0);
        for _ in 0..50 {
            assert_eq!(k.take(0.0), 0.0);
        }
        // The 51st waits 1/5 s, the 52nd 2/5 s: promised tokens queue.
        assert!((k.take(0.0) - 0.2).abs() < 1e-9);
        assert!((k.take(0.0) - 0.4).abs() < 1e-9);
        // Ten seconds later 50 tokens came back, 2 of them already promised.
        assert!((k.take(10.0)).abs() < 1e-9);
        let mut free = 1;
        while k.take(10.0) == 0.0 {
            free += 1;
        }
        assert_eq!(free, 48);
    }

    /// An empty bucket reaches its maximum after burst/refill seconds and not beyond (the ECS
    /// page's own example: 50 at 20/s is full after 2.5 s).
    #[test]
    fn refills_to_the_burst_and_no_further() {
        let mut k = Bucket::new(b(50, 20), 0.0);
        for _ in 0..50 {
            k.take(0.0);
        }
        for _ in 0..50 {
            assert_eq!(k.take(2.5), 0.0);
        }
        assert!(k.take(2.5) > 0.0);
        let mut k = Bucket::new(b(50, 20), 0.0);
        let mut free = 0;
        while k.take(100.0) == 0.0 {
            free += 1;
        }
        assert_eq!(free, 50);
    }

    /// A throttle halves the rate (at most once a second, down to a sixteenth, no lower) and
    /// spends the burst; the rate comes back by a tenth of the published rate per second.
    #[test]
    fn throttling_halves_and_recovers_additively() {
        let mut k = Bucket::new(b(20, 10), 0.0);
        k.throttled(0.0);
        assert!((k.rate() - 5.0).abs() < 1e-9);
        // The burst is gone and the SDK's retry costs a token: the next call waits 2/5 s.
        assert!((k.take(0.0) - 0.4).abs() < 1e-9);
        // Calls throttled together are one signal: no second cut within a second.
        k.throttled(0.5);
        assert!((k.rate() - (5.0 + 0.5)).abs() < 1e-9);
        // Throttled every second, the rate settles where halving meets the additive recovery
        // (r = (r + 1) / 2: 1 token/s, a tenth of the published rate), above the sixteenth floor.
        let mut k = Bucket::new(b(20, 10), 0.0);
        for i in 0..30 {
            k.throttled(f64::from(i));
        }
        assert!((k.rate() - 1.0).abs() < 1e-6, "{}", k.rate());
        // Then 1 token/s more each second: back to the published 10/s and no further.
        k.take(31.0);
        assert!((k.rate() - 3.0).abs() < 1e-6);
        k.take(60.0);
        assert!((k.rate() - 10.0).abs() < 1e-9);
        // The floor holds however fast the rate is cut.
        let mut k = Bucket::new(b(20, 16), 0.0);
        for i in 0..100 {
            k.throttled(f64::from(i) * CUT_EVERY * 1.0001);
            k.rate = k.rate.min(k.max_rate * FLOOR_SHARE * 1.5);
        }
        assert!(k.rate() >= 1.0 - 1e-9);
    }

    /// The published ECS categories, RDS's single bucket, EC2's per-action buckets.
    #[test]
    fn published_budgets() {
        assert_eq!(
            budget("ECS", "UpdateService"),
            Some(("ecs service modify", b(50, 5)))
        );
        assert_eq!(
            budget("ECS", "DescribeServices"),
            budget("ECS", "ListServices")
        );
        assert_eq!(budget("ECS", "TagResource").unwrap().1, b(20, 10));
        assert_eq!(
            budget("RDS", "StopDBInstance"),
            budget("RDS", "DescribeDBInstances")
        );
        assert_eq!(budget("RDS", "AddTagsToResource").unwrap().1, b(300, 12));
        assert_eq!(budget("EC2", "StartInstances").unwrap().1, b(5, 2));
        assert_eq!(budget("EC2", "DescribeInstances").unwrap().1, b(100, 20));
        assert_eq!(budget("STS", "AssumeRole"), None);
    }

    #[test]
    fn pace_parses() {
        assert_eq!(Pace::parse("off"), Ok(Pace::Off));
        assert_eq!(Pace::parse("on"), Ok(Pace::Percent(100)));
        assert_eq!(Pace::parse("50%"), Ok(Pace::Percent(50)));
        assert_eq!(Pace::parse("25"), Ok(Pace::Percent(25)));
        assert!(Pace::parse("0%").is_err());
        assert!(Pace::parse("fast").unwrap_err().contains("`off`"));
    }
}
