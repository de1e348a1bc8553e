//! Transitions: what an environment just did, as published to EventBridge and webhooks so other
//! tools (CI, alarms, chat) can follow it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What an environment just did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Everything is asleep.
    Asleep,
    /// Meant to be asleep; something is still going down.
    GoingToSleep,
    /// Meant to be awake; something is still starting.
    Waking,
    /// Everything is awake.
    Awake,
    /// Put to sleep for being idle (no requests through its front door).
    IdleSlept,
    /// Woken by a request at its front door.
    WokenByRequest,
}

impl Change {
    /// `asleep`, `going_to_sleep`, `waking`, `awake`, `idle_slept`, `woken_by_request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Asleep => "asleep",
            Change::GoingToSleep => "going_to_sleep",
            Change::Waking => "waking",
            Change::Awake => "awake",
            Change::IdleSlept => "idle_slept",
            Change::WokenByRequest => "woken_by_request",
        }
    }

    /// The EventBridge `detail-type`: `Environment Asleep`, `Environment Idle-Slept`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Change::Asleep => "Environment Asleep",
            Change::GoingToSleep => "Environment Going To Sleep",
            Change::Waking => "Environment Waking",
            Change::Awake => "Environment Awake",
            Change::IdleSlept => "Environment Idle-Slept",
            Change::WokenByRequest => "Environment Woken By Request",
        }
    }
}

/// One transition, as published (the EventBridge `detail`, the webhook's body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The environment.
    pub environment: String,
    /// What it did.
    pub transition: Change,
    /// Who or what made it: `schedule`, `idle`, `request:<source>`, a wake's requester.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, for people.
    pub reason: String,
}

/// The EventBridge `source` of every transition.
pub const EVENT_SOURCE: &str = "lightsout";
