//! Overrides: a request that holds an environment awake (a wake) or asleep (a sleep) until an
//! instant, whatever its schedule says.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which way an override holds an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hold {
    /// Kept awake.
    Awake,
    /// Kept asleep.
    Asleep,
}

/// A request that holds an environment awake (or asleep) until an instant, whatever the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The environment it applies to.
    pub env: String,
    /// Awake or asleep.
    pub hold: Hold,
    /// When it was made; it applies from then.
    pub created: DateTime<Utc>,
    /// When it ends.
    pub until: DateTime<Utc>,
    /// Who asked.
    pub by: String,
    /// Why they asked.
    pub reason: String,
}

impl Override {
    /// Whether it applies at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.created <= now && now < self.until
    }
}
