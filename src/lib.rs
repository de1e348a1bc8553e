//! lightsout puts AWS staging environments to sleep on a schedule and wakes them exactly as
//! they were.
//!
//! The layout, in layers: a module imports only modules of the layers below it (checked by
//! `tests/layers.rs`), so arrows point down and there is no import circle.
//!
//! - The entry points, thin:
//!   - [`cli`]: the command line; `cli::startup` is the one composition root (schedules, AWS
//!     clients, store, clock) that every command, the daemon and the Lambda go through.
//!   - [`daemon`]: `lightsout serve` — the router on a socket (under header and body timeouts, a
//!     connection cap, a bounded shutdown: `daemon::http`) and the reconcile loop.
//!   - [`lambda`]: the Lambda handler (scheduled passes, the digest, Function URL requests).
//! - [`api`]: the HTTP API, the status page, the front door's waiting page (its identities: a
//!   token, a signed wake link, the ALB's verified OIDC header), the Slack command and the Slack
//!   heads-up's buttons, over `api::ApiState` (the service, tokens, the rate limiter, the Slack
//!   verifier, the HTTP limits, the ALB's OIDC keys); one error type, one status map, one JSON shape for every rejection (`api::guard`).
//! - [`service`]: the running service, with no HTTP in it — passes over every environment under
//!   leases that fence every write, snapshots, the audit trail, the one `Requeue` decision,
//!   and the wake and sleep rules every entry point shares (and a knock's: one wake a burst);
//!   the Slack heads-up before a scheduled sleep, signed wake links, and following use
//!   (`service::follow`: idle to sleep, transitions published, alarms muted).
//! - [`engine`] (observe → plan → apply behind a `Fence`: deadline, lease, shutdown) and
//!   [`digest`] (the daily cost and health digest: gathered through the ports, computed and
//!   rendered purely, delivered per channel).
//! - [`plan`] (the kind-agnostic planner: guard, `skip-until`, tiers, who waits for whom),
//!   [`idle`] (pure: whether an environment awake on a wake or a window has been idle long
//!   enough to sleep) and [`aws`] (every AWS SDK call: one file per service, and the adapters
//!   of every port).
//! - [`ports`] (what the core needs of the outside: `Cloud`, `Billing`, `Inspect`, `Outbox`,
//!   `Pricing`),
//!   [`store`] (overrides, the audit trail, leases, a cache: SQLite; DynamoDB is in `aws`),
//!   [`config`] (only the parser of schedule files, every error with file, line and fix) and
//!   [`schedule`] (pure: awake or asleep at an instant, when that changes, and when a heads-up
//!   before a sleep is due).
//! - [`model`]: the nouns — what an environment, a window, a duration, an override, an audit
//!   event, money, a transition and a transition's progress are.
//! - [`kinds`]: one file per resource kind (its table, observed form, steps, rules, tier) and
//!   the one enum dispatch over them; the production guard.
//! - At the ground: [`calendar`] (local days and instants, exact across DST), [`diag`]
//!   (diagnostics and the spanned reader of schedule files), [`clock`] (the one place that reads
//!   the wall clock) and [`metrics`] (Prometheus counters).
//!
//! The pure core — `model`, `kinds`, `calendar`, `diag`, `schedule`, `plan`, `idle`, and the digest's
//! figures, prices, chart and renderings — imports no tokio, AWS SDK, store or clock.
//!
//! Errors, one policy: a `thiserror` enum per boundary — `ports::CloudError` (an AWS call),
//! `store::StoreError`, `config::Diagnostics` (schedule files), `service::RequestError` (a wake
//! or sleep refused), `api::ApiError` (mapped to HTTP statuses in one place); `anyhow` only in
//! `cli`; a `String` error only where the text is the reason shown to people (a digest section
//! that could not be gathered, a parse message).

pub mod api;
pub mod aws;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod diag;
pub mod digest;
pub mod engine;
pub mod idle;
pub mod kinds;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod ports;
pub mod schedule;
pub mod service;
pub mod store;
