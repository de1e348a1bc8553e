//! `lightsout serve`: the router on a socket and the reconcile loop beside it.
//!
//! The loop runs a pass, then waits until the earliest of: the cadence (every minute by
//! default), the next scheduled transition or override end, a heads-up falling due (posted
//! after each pass: `service::heads_up`), a wake or sleep request, or — while
//! something is still settling (databases starting, services waiting for them) — a short settle
//! interval. Idle, it sleeps in `tokio::select!` and uses no CPU.
//!
//! Every pass has a deadline (`--pass-timeout`, well inside the lease): what it cannot start in
//! time is left for the next pass and logged. On shutdown the pass in flight stops between steps
//! and abandons the calls it has in flight (no original is lost: tags are written before any
//! scale-down and removed only after a wake), then the server drains and the process exits.
//!
//! The HTTP server ([`http`]) holds its connections under timeouts and a cap, and closes them
//! within a bounded time on shutdown, even when clients hold half-sent requests.

pub mod http;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::ApiState;
use crate::ports::Cloud;
use crate::service::{Requeue, Service};

/// How the loop paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The longest time between passes.
    pub cadence: TimeDelta,
    /// Time between passes while something is settling.
    pub settle: Duration,
    /// The longest one pass may take: no environment or action starts after it.
    pub pass_timeout: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            cadence: TimeDelta::minutes(1),
            settle: Duration::from_secs(15),
            pass_timeout: Duration::from_secs(120),
        }
    }
}

/// Serves the API on `listener` and runs the reconcile loop until `shutdown` resolves.
/// `passes` counts completed passes (tests wait on it instead of on the wall clock).
pub async fn serve<C: Cloud + 'static>(
    api: Arc<ApiState<C>>,
    listener: TcpListener,
    pace: Pace,
    shutdown: impl Future<Output = ()> + Send + 'static,
    passes: watch::Sender<u64>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = api.service.clone();
    let looper = tokio::spawn(run_loop(app.clone(), pace, stop_rx.clone(), passes));
    let mut digests = match &app.digest {
        Some(d) => match schedule_digests(d.clone()).await {
            Ok((s, _)) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot schedule the daily digest; it will not be sent");
                None
            }
        },
        None => None,
    };
    let server = tokio::spawn(http::serve_http(api, listener, stop_rx));
    shutdown.await;
    tracing::info!(
        "shutting down: closing idle connections, stopping the pass in flight between steps"
    );
    let _ = stop_tx.send(true);
    app.shut_down();
    if let Some(s) = digests.as_mut() {
        let _ = s.shutdown().await;
    }
    if let Err(e) = looper.await {
        tracing::error!(error = %e, "reconcile loop ended abnormally");
    }
    match server.await {
        Ok(r) => r,
        Err(e) => Err(std::io::Error::other(e)),
    }
}

async fn run_loop<C: Cloud>(
    app: Arc<Service<C>>,
    pace: Pace,
    mut stop: watch::Receiver<bool>,
    passes: watch::Sender<u64>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let started = std::time::Instant::now();
        let pass = app
            .run_pass(Some(tokio::time::Instant::now() + pace.pass_timeout))
            .await;
        // Heads-ups before a sleep, after the pass (its wakes and sleeps are in the store).
        app.heads_ups().await;
        passes.send_modify(|n| *n += 1);
        for left in &pass.deferred {
            tracing::warn!(env = %left.env, why = %left.why, "deferred to the next pass");
        }
        tracing::debug!(
            environments = pass.reports.len(),
            calls = pass.calls_made(),
            millis = started.elapsed().as_millis() as u64,
            "pass done"
        );
        let next = match app.requeue(&pass, pace.cadence) {
            Requeue::Soon => None,
            Requeue::At(next) => Some(next),
        };
        // A heads-up falling due before then is looked at then, not a cadence late.
        let next = match (next, app.next_heads_up().await) {
            (Some(n), Some(h)) => Some(n.min(h)),
            (n, _) => n,
        };
        let wait = match next {
            None => pace.settle,
            Some(next) => (next - app.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_millis(200)),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = app.trigger.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Schedules each environment's digest daily at its `[digest] at`, in its time zone. A digest
/// runs in its own task: a slow or failing channel never holds up the reconcile loop.
/// Returns the started scheduler and each environment's job id.
pub async fn schedule_digests(
    digester: Arc<crate::digest::Digester>,
) -> Result<
    (
        tokio_cron_scheduler::JobScheduler,
        Vec<(String, uuid::Uuid)>,
    ),
    tokio_cron_scheduler::JobSchedulerError,
> {
    use tokio_cron_scheduler::{Job, JobScheduler};
    let sched = JobScheduler::new().await?;
    let mut jobs = Vec::new();
    for env in &digester.config.environments {
        let cron = cron_expression(env.digest.at);
        let (d, name) = (digester.clone(), env.name.clone());
        let job = Job::new_async_tz(cron.as_str(), env.timezone, move |_, _| {
            let (d, name) = (d.clone(), name.clone());
            Box::pin(async move {
                let Some(env) = d.config.environment(&name).cloned() else {
                    return;
                };
                let r = d.run(&env, Default::default()).await;
                tracing::info!(summary = %r, "daily digest");
            })
        })?;
        jobs.push((env.name.clone(), sched.add(job).await?));
        tracing::info!(env = %env.name, at = %env.digest.at.format("%H:%M"), tz = %env.timezone, "digest scheduled");
    }
    // The combined digest for finance, at the first asking environment's time, five minutes
    // after its own digest (so it is made from the cache, asking Cost Explorer nothing).
    if let Some(env) = digester
        .config
        .environments
        .iter()
        .find(|e| e.digest.combined)
    {
        let at = env.digest.at + chrono::TimeDelta::minutes(5);
        let d = digester.clone();
        let job = Job::new_async_tz(cron_expression(at).as_str(), env.timezone, move |_, _| {
            let d = d.clone();
            Box::pin(async move {
                let r = d.run_combined(Default::default()).await;
                tracing::info!(summary = %r, "combined digest");
            })
        })?;
        jobs.push(("*combined*".to_string(), sched.add(job).await?));
        tracing::info!(at = %at.format("%H:%M"), tz = %env.timezone, "combined digest scheduled");
    }
    sched.start().await?;
    Ok((sched, jobs))
}

/// The 6-field cron expression (seconds first) for a daily time.
pub fn cron_expression(at: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    format!("0 {} {} * * *", at.minute(), at.hour())
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when the
/// future is first polled: call it before the daemon says it is serving, so a SIGTERM that
/// follows that line (a supervisor's, a test's) always finds them and stops cleanly.
pub fn signals() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut term, mut int) = streams;
            let next = |s: &mut Option<tokio::signal::unix::Signal>| {
                let s = s.take();
                async move {
                    match s {
                        Some(mut s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                }
            };
            tokio::select! { _ = next(&mut term) => {}, _ = next(&mut int) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each environment's digest is scheduled daily at its `at`, in its own time zone.
    #[tokio::test]
    async fn digests_are_scheduled_at_local_time() {
        let src = |name: &str, tz: &str, at: &str| {
            format!(
                "name = \"{name}\"\nregion = \"eu-west-1\"\ntimezone = \"{tz}\"\nawake = []\n[rds]\ninstances = [\"db-{name}\"]\n[digest]\nat = \"{at}\"\n"
            )
        };
        let p = std::path::Path::new("s.toml");
        let config = crate::model::Config {
            environments: vec![
                crate::config::parse_str(p, &src("berlin", "Europe/Berlin", "08:30")).unwrap(),
                crate::config::parse_str(p, &src("sydney", "Australia/Sydney", "07:00")).unwrap(),
            ],
        };
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let d = Arc::new(crate::digest::Digester::new(
            config,
            Arc::new(crate::aws::AwsCloud::new(aws)).ports(None),
            Arc::new(crate::store::SqliteStore::in_memory().unwrap()),
            Arc::new(crate::clock::SystemClock),
        ));
        let (mut sched, jobs) = schedule_digests(d).await.unwrap();
        assert_eq!(jobs.len(), 2);
        for (env, id) in &jobs {
            let next = sched.next_tick_for_job(*id).await.unwrap().unwrap();
            let tz: chrono_tz::Tz = if env == "berlin" {
                chrono_tz::Europe::Berlin
            } else {
                chrono_tz::Australia::Sydney
            };
            let local = next.with_timezone(&tz);
            let want = if env == "berlin" { (8, 30) } else { (7, 0) };
            use chrono::Timelike;
            assert_eq!(
                (local.hour(), local.minute(), local.second()),
                (want.0, want.1, 0),
                "{env}: {local}"
            );
        }
        sched.shutdown().await.unwrap();
        assert_eq!(
            cron_expression(chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap()),
            "0 30 8 * * *"
        );
    }
}
