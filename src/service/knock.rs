//! A knock at the front door: a request that reached a sleeping environment through its wake
//! target group asks to wake it. A burst of them makes one wake: a wake already in force is
//! left as it is, and between requests racing each other the store's conditional write (a lease
//! on `ENV#knock`, held for [`BURST`]) lets exactly one through.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{SubsecRound, TimeDelta};

use super::Service;
use super::requests::{RequestError, Woken};
use crate::model::{Environment, Hold, Override};
use crate::ports::Cloud;

/// How long a knock's wake keeps others from waking again.
pub const BURST: TimeDelta = TimeDelta::minutes(2);

/// How long a knock wakes an environment for.
pub const KNOCK_WAKE: &str = "1h";

/// What a knock did.
#[derive(Debug, Clone)]
pub enum Knocked {
    /// It woke the environment.
    Woke(Woken),
    /// A wake was already in force: it stays as it is.
    AlreadyAwake(Override),
    /// Another knock of the same burst is waking it.
    Burst,
}

impl<C: Cloud> Service<C> {
    /// Wakes `env` for an hour on behalf of a request from `source` (audited as
    /// `request:<source>`), once per burst.
    pub async fn knock(&self, env: &Environment, source: &str) -> Result<Knocked, RequestError> {
        let now = self.clock.now().trunc_subsecs(0);
        if let Some(ov) = self.store.active_override(&env.name, now).await?
            && ov.hold == Hold::Awake
        {
            return Ok(Knocked::AlreadyAwake(ov));
        }
        let who = format!("request:{source}");
        let key = format!("{}#knock", env.name);
        // A holder of its own per knock: a lease renews for the same holder, and two knocks from
        // one source must not both get through.
        static KNOCKS: AtomicU64 = AtomicU64::new(0);
        let holder = format!(
            "{who}#{}#{}",
            std::process::id(),
            KNOCKS.fetch_add(1, Ordering::Relaxed)
        );
        if !self
            .store
            .acquire_lease(&key, &holder, now, now + BURST)
            .await?
        {
            return Ok(Knocked::Burst);
        }
        let woken = self
            .wake(
                env,
                &who,
                KNOCK_WAKE,
                "a request reached the front door while it slept",
            )
            .await?;
        self.publish(
            env,
            crate::model::Transition {
                environment: env.name.clone(),
                transition: crate::model::Change::WokenByRequest,
                actor: who,
                at: now,
                reason: "a request reached the front door while it slept".into(),
            },
        )
        .await;
        Ok(Knocked::Woke(woken))
    }
}
