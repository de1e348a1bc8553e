//! Counters for `/metrics`, in the Prometheus text format. A handful of atomics: no registry
//! crate needed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counts by label set, like `kind="sleep",outcome="ok"`.
#[derive(Debug, Default)]
pub struct Labeled(Mutex<BTreeMap<String, u64>>);

impl Labeled {
    /// Adds one under `labels` (already in Prometheus form).
    pub fn inc(&self, labels: &str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(labels.to_string())
            .or_default() += 1;
    }

    /// The count under `labels`.
    pub fn get(&self, labels: &str) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(labels)
            .copied()
            .unwrap_or(0)
    }

    fn render(&self, out: &mut String, name: &str) {
        for (labels, n) in self.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "{name}{{{labels}}} {n}");
        }
    }
}

/// What the daemon counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Reconcile passes run.
    pub passes: Counter,
    /// Actions applied, by kind (`sleep`, `wake`) and outcome (`ok`, `failed`).
    pub actions: Labeled,
    /// API requests refused or failed, by status.
    pub api_errors: Labeled,
    /// Store failures.
    pub store_errors: Counter,
    /// Passes that could not observe an environment, by environment.
    pub observation_failures: Labeled,
    /// Idle sleeps (a wake ended, or a window cut short, for no requests), by environment.
    pub idle_sleeps: Labeled,
    /// Transitions that could not be published, or alarm actions not switched, by
    /// environment and what (`events`, `alarms`).
    pub follow_failures: Labeled,
    /// The daemon's HTTP connections (shared with its server).
    pub connections: std::sync::Arc<Connections>,
}

/// The daemon's HTTP connections: how many, the cap, and what was closed or refused to keep to
/// it.
#[derive(Debug, Default)]
pub struct Connections {
    /// Open now.
    pub open: AtomicU64,
    /// The most open at once since start.
    pub peak: AtomicU64,
    /// The cap (after lowering it to the open-file limit).
    pub max: AtomicU64,
    /// Idle connections closed to make room for a new one.
    pub evicted: Counter,
    /// New connections refused because every held one was busy.
    pub refused: Counter,
    /// Connections closed because a request's head did not arrive in time.
    pub header_timeouts: Counter,
}

impl Connections {
    /// Sets how many are open, keeping the peak.
    pub fn set_open(&self, n: usize) {
        let n = n as u64;
        self.open.store(n, Ordering::Relaxed);
        self.peak.fetch_max(n, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP lightsout_http_connections HTTP connections open.\n# TYPE lightsout_http_connections gauge\nlightsout_http_connections {}",
            g(&self.open)
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_http_connections_peak The most HTTP connections open at once.\n# TYPE lightsout_http_connections_peak gauge\nlightsout_http_connections_peak {}",
            g(&self.peak)
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_http_connections_max The connection cap.\n# TYPE lightsout_http_connections_max gauge\nlightsout_http_connections_max {}",
            g(&self.max)
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_http_connections_evicted_total Idle connections closed to make room.\n# TYPE lightsout_http_connections_evicted_total counter\nlightsout_http_connections_evicted_total {}",
            self.evicted.get()
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_http_connections_refused_total Connections refused (503) with every held one busy.\n# TYPE lightsout_http_connections_refused_total counter\nlightsout_http_connections_refused_total {}",
            self.refused.get()
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_http_header_timeouts_total Connections closed because a request head did not arrive in time.\n# TYPE lightsout_http_header_timeouts_total counter\nlightsout_http_header_timeouts_total {}",
            self.header_timeouts.get()
        );
    }
}

impl Metrics {
    /// The Prometheus text exposition, with the gauge of environments awake.
    pub fn render(&self, environments: usize, awake: usize, unknown: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP lightsout_reconcile_passes_total Reconcile passes run.\n# TYPE lightsout_reconcile_passes_total counter"
        );
        let _ = writeln!(
            out,
            "lightsout_reconcile_passes_total {}",
            self.passes.get()
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_actions_total Actions applied, by kind and outcome.\n# TYPE lightsout_actions_total counter"
        );
        self.actions.render(&mut out, "lightsout_actions_total");
        let _ = writeln!(
            out,
            "# HELP lightsout_api_errors_total API requests refused or failed, by status.\n# TYPE lightsout_api_errors_total counter"
        );
        self.api_errors
            .render(&mut out, "lightsout_api_errors_total");
        let _ = writeln!(
            out,
            "# HELP lightsout_store_errors_total State store failures.\n# TYPE lightsout_store_errors_total counter"
        );
        let _ = writeln!(
            out,
            "lightsout_store_errors_total {}",
            self.store_errors.get()
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_observation_failures_total Passes that could not observe an environment (its state is unknown).\n# TYPE lightsout_observation_failures_total counter"
        );
        self.observation_failures
            .render(&mut out, "lightsout_observation_failures_total");
        let _ = writeln!(
            out,
            "# HELP lightsout_idle_sleeps_total Idle sleeps: wakes ended or windows cut short for no requests.\n# TYPE lightsout_idle_sleeps_total counter"
        );
        self.idle_sleeps
            .render(&mut out, "lightsout_idle_sleeps_total");
        let _ = writeln!(
            out,
            "# HELP lightsout_follow_failures_total Transitions not published or alarm actions not switched.\n# TYPE lightsout_follow_failures_total counter"
        );
        self.follow_failures
            .render(&mut out, "lightsout_follow_failures_total");
        let _ = writeln!(
            out,
            "# HELP lightsout_environments Environments configured.\n# TYPE lightsout_environments gauge\nlightsout_environments {environments}"
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_environments_awake Environments the last pass found meant to be awake.\n# TYPE lightsout_environments_awake gauge\nlightsout_environments_awake {awake}"
        );
        let _ = writeln!(
            out,
            "# HELP lightsout_environments_unknown Environments whose state is unknown (not observed by the last pass, or no pass yet).\n# TYPE lightsout_environments_unknown gauge\nlightsout_environments_unknown {unknown}"
        );
        self.connections.render(&mut out);
        out
    }
}
