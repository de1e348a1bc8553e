//! `lightsout wake` and `lightsout sleep`: through the store (the same one the daemon and the
//! Lambda use, so the request is honoured everywhere), or through a running daemon's API with
//! `--api URL`; then, with `--wait`, follow the environment resource by resource until it is
//! ready — what a CI pipeline runs before its end-to-end tests.
//!
//! Through the store, the command itself runs a pass under the environment's lease, so it acts
//! at once even with no daemon running; when another copy holds the lease, that copy acts and
//! this one only watches.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use super::args::{AwsArgs, StoreArgs, WaitArgs};
use super::startup::{self, Parts};
use super::{Cli, environment};
use crate::aws::AwsCloud;
use crate::calendar::local_label;
use crate::engine::{EnvReport, Outcome};
use crate::plan::Verdict;
use crate::service::{EnvPass, RequestError, Service, State, settling};

/// What was asked.
#[derive(Debug, Clone, Copy)]
pub enum Ask<'a> {
    /// Wake for a while.
    Wake {
        /// The environment.
        env: &'a str,
        /// How long.
        duration: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// Sleep now.
    Sleep {
        /// The environment.
        env: &'a str,
        /// Why.
        reason: &'a str,
    },
}

impl Ask<'_> {
    fn env(&self) -> &str {
        match self {
            Ask::Wake { env, .. } | Ask::Sleep { env, .. } => env,
        }
    }

    /// The state that means "done".
    fn goal(&self) -> State {
        match self {
            Ask::Wake { .. } => State::Awake,
            Ask::Sleep { .. } => State::Asleep,
        }
    }
}

/// `lightsout wake` / `lightsout sleep`.
pub async fn request(
    cli: &Cli,
    ask: Ask<'_>,
    wait: &WaitArgs,
    aws: &AwsArgs,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    match &wait.api {
        Some(api) => via_api(ask, wait, api).await,
        None => via_store(cli, ask, wait, aws, store).await,
    }
}

fn elapsed(start: Instant) -> String {
    let s = start.elapsed().as_secs();
    format!("+{}:{:02}", s / 60, s % 60)
}

/// Prints a resource's line when what is seen of it changes.
#[derive(Default)]
struct Progress {
    last: BTreeMap<String, String>,
}

impl Progress {
    fn show(&mut self, start: Instant, rows: Vec<(String, String)>) {
        let width = rows.iter().map(|(r, _)| r.len()).max().unwrap_or(0);
        for (resource, seen) in rows {
            if self.last.get(&resource) != Some(&seen) {
                println!("{}  {resource:<width$}  {seen}", elapsed(start));
                self.last.insert(resource, seen);
            }
        }
    }
}

/// One resource's progress from a pass: what is observed and what the pass did or waits for.
fn rows(report: &EnvReport, observed: &crate::kinds::Observation) -> Vec<(String, String)> {
    report
        .items
        .iter()
        .filter(|i| !matches!(i.item.verdict, Verdict::Skip | Verdict::Refuse))
        .map(|i| {
            let seen = observed.describe(&i.item.resource);
            let doing = match (&i.item.verdict, &i.outcome) {
                (Verdict::Act { steps, .. }, Some(Outcome::Done)) => {
                    let ops: Vec<&str> = steps.iter().map(|s| s.operation()).collect();
                    format!("  → {}", ops.join(", "))
                }
                (Verdict::Act { .. }, Some(Outcome::Failed(e))) => format!("  FAILED: {e}"),
                (Verdict::Act { .. }, Some(Outcome::NotRun(e))) => format!("  not run: {e}"),
                (Verdict::Act { .. }, Some(Outcome::Deferred(e))) => format!("  deferred: {e}"),
                (Verdict::Act { .. }, _) => "  → acting".into(),
                (Verdict::Wait, _) => "  waiting".into(),
                (Verdict::Blocked, _) => format!("  BLOCKED: {}", i.item.reason),
                _ => String::new(),
            };
            (i.item.resource.to_string(), format!("{seen}{doing}"))
        })
        .collect()
}

fn blocked(report: &EnvReport) -> Vec<String> {
    report
        .items
        .iter()
        .filter(|i| i.item.verdict == Verdict::Blocked)
        .map(|i| format!("{}: {}", i.item.resource, i.item.reason))
        .collect()
}

async fn via_store(
    cli: &Cli,
    ask: Ask<'_>,
    wait: &WaitArgs,
    aws: &AwsArgs,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let parts = Parts::open(&cli.schedules, aws.limits(), &store.store).await?;
    let env = environment(cli, &parts.config, ask.env())?.clone();
    let who = startup::cli_actor();
    let app = parts.app(startup::instance_name("cli-"), who.clone());
    let now = app.clock.now();
    let refused = |e: RequestError| match e {
        RequestError::Invalid(m) => anyhow::anyhow!("{m}"),
        RequestError::Store(e) => anyhow::anyhow!("{e}; nothing was changed"),
    };
    match ask {
        Ask::Wake {
            duration, reason, ..
        } => {
            let w = app
                .wake(&env, &who, duration, reason)
                .await
                .map_err(refused)?;
            let until = local_label(w.current.until, env.timezone, now);
            if w.kept {
                println!(
                    "{}: a wake until {until} (by {}) was already in force; it stays",
                    env.name, w.current.by
                );
            } else {
                println!("{}: awake until {until} (woken by {who})", env.name);
            }
        }
        Ask::Sleep { reason, .. } => {
            let s = app.sleep(&env, &who, reason).await.map_err(refused)?;
            match &s.held {
                Some(o) => println!(
                    "{}: asleep until {} (put to sleep by {who})",
                    env.name,
                    local_label(o.until, env.timezone, now)
                ),
                None => println!("{}: back on its schedule (by {who})", env.name),
            }
        }
    }
    follow(&app, &env, ask, wait).await
}

/// Runs passes (or watches the copy that holds the lease) until the environment reaches the
/// goal, a resource needs a person, or time runs out; without `--wait`, one pass.
async fn follow(
    app: &Service<AwsCloud>,
    env: &crate::model::Environment,
    ask: Ask<'_>,
    wait: &WaitArgs,
) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let give_up = start + wait.timeout.to_std().unwrap_or(Duration::from_secs(1200));
    let mut progress = Progress::default();
    let mut told_lease = false;
    loop {
        let (report, observed) = match app.reconcile_env(env, None, None).await {
            EnvPass::Reconciled(r) => {
                let observed = app
                    .snapshot(&env.name)
                    .map(|s| s.observed)
                    .unwrap_or_default();
                (r, observed)
            }
            EnvPass::Skipped(why) | EnvPass::Deferred(why) => {
                if !told_lease {
                    let holder = app
                        .store
                        .lease_holder(&env.name, app.clock.now())
                        .await
                        .ok()
                        .flatten()
                        .map(|l| format!(" ({})", l.holder))
                        .unwrap_or_default();
                    println!(
                        "{}  not acting here: {why}{holder}; watching",
                        elapsed(start)
                    );
                    told_lease = true;
                }
                let (plan, observed, _) = app.plan_env(env, app.clock.now()).await?;
                (EnvReport::planned(plan), observed)
            }
        };
        progress.show(start, rows(&report, &observed));
        for p in &report.problems {
            println!("{}  problem: {p}", elapsed(start));
        }
        let state = if !report.problems.is_empty() {
            State::Unknown
        } else {
            match (report.awake, settling(&report, &observed)) {
                (true, false) => State::Awake,
                (true, true) => State::Waking,
                (false, false) => State::Asleep,
                (false, true) => State::GoingToSleep,
            }
        };
        let stuck = blocked(&report);
        if !stuck.is_empty() {
            println!(
                "{}: needs a person before it can be {}:\n  {}",
                env.name,
                ask.goal(),
                stuck.join("\n  ")
            );
            return Ok(ExitCode::from(1));
        }
        if !wait.wait {
            println!(
                "{}: {state}; follow it with `lightsout status --env {}` (or wake with --wait)",
                env.name, env.name
            );
            return Ok(super::exit(report.failed()));
        }
        if state == ask.goal() {
            println!(
                "{}: ready — {state} after {}",
                env.name,
                &elapsed(start)[1..]
            );
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() + wait.poll > give_up {
            println!(
                "{}: not {} after {} (still {state}); giving up (--timeout)",
                env.name,
                ask.goal(),
                &elapsed(start)[1..]
            );
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(wait.poll).await;
    }
}

/// An API call's answer: status and JSON body.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = req
        .body(body)
        .map_err(|e| anyhow::anyhow!("bad --api URL {url}: {e}"))?;
    let mut resp = agent
        .run(req)
        .map_err(|e| anyhow::anyhow!("cannot reach the lightsout API at {url}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, json))
}

async fn via_api(ask: Ask<'_>, wait: &WaitArgs, api: &str) -> anyhow::Result<ExitCode> {
    let token = match (&wait.token_file, std::env::var("LIGHTSOUT_TOKEN")) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?
            .trim()
            .to_string(),
        (None, Ok(t)) if !t.trim().is_empty() => t.trim().to_string(),
        _ => anyhow::bail!(
            "--api needs a token: set LIGHTSOUT_TOKEN or pass --token-file (never on the command line)"
        ),
    };
    let agent = crate::aws::http_agent(Duration::from_secs(30));
    let base = format!(
        "{}/v1/environments/{}",
        api.trim_end_matches('/'),
        ask.env()
    );
    let (url, body) = match ask {
        Ask::Wake {
            duration, reason, ..
        } => (
            format!("{base}/wake"),
            serde_json::json!({ "for": duration, "reason": reason }),
        ),
        Ask::Sleep { reason, .. } => (
            format!("{base}/sleep"),
            serde_json::json!({ "reason": reason }),
        ),
    };
    let (a, t) = (agent.clone(), token.clone());
    let (status, answer) =
        tokio::task::spawn_blocking(move || call(&a, "POST", &url, &t, Some(body))).await??;
    if status != 202 {
        let why = answer["error"]
            .as_str()
            .map_or_else(|| answer.to_string(), String::from);
        eprintln!("error: the API refused it ({status}): {why}");
        return Ok(ExitCode::from(if status >= 500 { 1 } else { 2 }));
    }
    match ask {
        Ask::Wake { .. } => println!(
            "{}: awake until {} (woken by {})",
            ask.env(),
            answer["override"]["until"].as_str().unwrap_or("?"),
            answer["override"]["by"].as_str().unwrap_or("?")
        ),
        Ask::Sleep { .. } => match answer["override"]["until"].as_str() {
            Some(until) => println!("{}: asleep until {until}", ask.env()),
            None => println!("{}: back on its schedule", ask.env()),
        },
    }
    if !wait.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let start = Instant::now();
    let give_up = start + wait.timeout.to_std().unwrap_or(Duration::from_secs(1200));
    let mut progress = Progress::default();
    loop {
        tokio::time::sleep(wait.poll).await;
        let (a, t, u) = (agent.clone(), token.clone(), base.clone());
        let (status, env) =
            tokio::task::spawn_blocking(move || call(&a, "GET", &u, &t, None)).await??;
        if status != 200 {
            eprintln!("error: cannot read {} ({status}): {env}", ask.env());
            return Ok(ExitCode::from(1));
        }
        let rows: Vec<(String, String)> = env["resources"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|r| {
                        !matches!(r["verdict"]["verdict"].as_str(), Some("skip" | "refuse"))
                    })
                    .map(|r| {
                        let doing = match r["verdict"]["verdict"].as_str() {
                            Some("wait") => "  waiting".to_string(),
                            Some("act") => "  → acting".to_string(),
                            Some("blocked") => {
                                format!("  BLOCKED: {}", r["reason"].as_str().unwrap_or(""))
                            }
                            _ => String::new(),
                        };
                        (
                            r["resource"].as_str().unwrap_or("?").to_string(),
                            format!("{}{doing}", r["observed"].as_str().unwrap_or("?")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stuck: Vec<String> = rows
            .iter()
            .filter(|(_, seen)| seen.contains("  BLOCKED: "))
            .map(|(r, seen)| format!("{r}: {}", seen.split("  BLOCKED: ").nth(1).unwrap_or("")))
            .collect();
        progress.show(start, rows);
        if !stuck.is_empty() {
            println!(
                "{}: needs a person before it can be {}:\n  {}",
                ask.env(),
                ask.goal(),
                stuck.join("\n  ")
            );
            return Ok(ExitCode::from(1));
        }
        let state = env["state"].as_str().unwrap_or("unknown");
        if state == "unknown"
            && let Some(reason) = env["unknown"]["reason"].as_str()
        {
            println!("{}  unknown: {reason}", elapsed(start));
        }
        if state == ask.goal().as_str() {
            println!(
                "{}: ready — {state} after {}",
                ask.env(),
                &elapsed(start)[1..]
            );
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() + wait.poll > give_up {
            println!(
                "{}: not {} after {} (still {state}); giving up (--timeout)",
                ask.env(),
                ask.goal(),
                &elapsed(start)[1..]
            );
            return Ok(ExitCode::from(1));
        }
    }
}
