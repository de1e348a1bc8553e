//! lightsout puts AWS staging environments to sleep on a schedule and wakes them exactly as
//! they were.
//!
//! The layout, in the order a tick flows through it:
//!
//! - [`config`]: schedule files (`schedules/*.toml`) read into typed environments; every error
//!   names the file, line and fix.
//! - [`clock`]: the one place that reads the wall clock.
//! - [`schedule`]: pure — is an environment meant to be awake at instant T, why, and when does
//!   that next change. Exact across daylight-saving changes.
//! - [`model`]: what is observed of ECS services and databases, the tags kept on them, and the
//!   write calls ([`model::Step`]).
//! - [`plan`]: pure — desired and observed state in, ordered actions with one-line reasons out.
//! - [`cloud`]: the engine's view of the cloud (observe, execute one step).
//! - [`aws`]: the only module that calls AWS (ECS, Application Auto Scaling, RDS).
//! - [`engine`]: observe → plan → apply, bounded and with per-resource error isolation.
//! - [`store`]: overrides, audit trail, leases and cache (SQLite).
//! - [`service`]: the running service — one pass over every environment with leases,
//!   overrides and audit; shared by the daemon and the API.
//! - [`api`]: the HTTP API and status page (axum); [`daemon`]: `lightsout serve`;
//!   [`metrics`]: Prometheus counters.
//! - [`lambda`]: the Lambda handler (scheduled passes and Function URL requests).
//! - [`cli`] and [`report`]: the command line and its tables.

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
pub mod kinds;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod ports;
pub mod schedule;
pub mod service;
pub mod store;
