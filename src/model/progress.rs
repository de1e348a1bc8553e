//! How far an environment's transition (going to sleep, waking) has come: resources done of
//! those it concerns, by kind, and whether a pass stopped before the end and left the rest for
//! the next one (a Lambda invocation that ran out of time). The pass records it in the store;
//! `status`, the Lambda's answer and the digest say "going to sleep: 1,240 of 5,000 services
//! done, continues in the next run" rather than a finished state.

use super::money::thousands;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::kinds::{Kind, ResourceId};

/// Where one resource stands in a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// As it should be (already, or acted on successfully).
    Done,
    /// Still to do: planned, waiting, deferred, failed.
    Left,
    /// Not part of the transition (skipped, refused, blocked for a person).
    Outside,
}

/// One kind's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    /// `services`, `databases`, ... ([`Kind::plural`]).
    pub kind: String,
    /// Done.
    pub done: usize,
    /// Of this many.
    pub total: usize,
}

/// How far a transition has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Waking (else going to sleep).
    pub waking: bool,
    /// Per kind, in the order the transition takes them.
    pub kinds: Vec<KindCount>,
    /// The pass that counted stopped before the end (out of time, shutting down): the next
    /// pass continues.
    pub continues: bool,
    /// When it was counted.
    pub at: DateTime<Utc>,
}

impl Progress {
    /// Where the store keeps an environment's (in its cache).
    pub fn store_key(env: &str) -> String {
        format!("progress:{env}")
    }

    /// Counts resources by kind; kinds appear in the order the transition takes them (apps
    /// first to sleep, data first to wake).
    pub fn tally<'a>(
        waking: bool,
        continues: bool,
        at: DateTime<Utc>,
        items: impl IntoIterator<Item = (&'a ResourceId, Standing)>,
    ) -> Progress {
        let mut by: Vec<(Kind, usize, usize)> = Vec::new();
        for (id, standing) in items {
            if standing == Standing::Outside {
                continue;
            }
            let kind = id.kind();
            let i = match by.iter().position(|(k, _, _)| *k == kind) {
                Some(i) => i,
                None => {
                    by.push((kind, 0, 0));
                    by.len() - 1
                }
            };
            by[i].2 += 1;
            if standing == Standing::Done {
                by[i].1 += 1;
            }
        }
        by.sort_by_key(|(k, _, _)| {
            let t = k.tier() as i32;
            if waking { -t } else { t }
        });
        Progress {
            waking,
            kinds: by
                .into_iter()
                .map(|(k, done, total)| KindCount {
                    kind: k.plural().into(),
                    done,
                    total,
                })
                .collect(),
            continues,
            at,
        }
    }

    /// Resources done, of how many.
    pub fn done_of(&self) -> (usize, usize) {
        self.kinds
            .iter()
            .fold((0, 0), |(d, t), k| (d + k.done, t + k.total))
    }

    /// Whether the transition is not finished.
    pub fn in_progress(&self) -> bool {
        let (done, total) = self.done_of();
        done < total || self.continues
    }

    /// `going to sleep: 1,240 of 5,000 services done, 0 of 200 databases; continues in the next
    /// run`.
    pub fn sentence(&self) -> String {
        let what = if self.waking {
            "waking"
        } else {
            "going to sleep"
        };
        let counts: Vec<String> = self
            .kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "{} of {} {}{}",
                    thousands(k.done as i64),
                    thousands(k.total as i64),
                    k.kind,
                    if i == 0 { " done" } else { "" }
                )
            })
            .collect();
        let counts = if counts.is_empty() {
            "nothing to do".to_string()
        } else {
            counts.join(", ")
        };
        let next = if self.continues {
            "; continues in the next run"
        } else {
            ""
        };
        format!("{what}: {counts}{next}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ServiceName;

    fn svc(n: usize) -> ResourceId {
        ResourceId::EcsService(ServiceName::parse(&format!("c/s{n}")).unwrap())
    }

    /// Services come first going to sleep, databases after; counts read with thousands.
    #[test]
    fn a_sleep_left_half_done_reads_as_in_progress() {
        let ids: Vec<ResourceId> = (0..5000)
            .map(svc)
            .chain((0..200).map(|i| ResourceId::DbInstance(format!("db{i}"))))
            .collect();
        let items = ids.iter().enumerate().map(|(i, id)| {
            let s = if i < 1240 {
                Standing::Done
            } else {
                Standing::Left
            };
            (id, s)
        });
        let p = Progress::tally(false, true, "2026-12-02T19:00:00Z".parse().unwrap(), items);
        assert!(p.in_progress());
        assert_eq!(
            p.sentence(),
            "going to sleep: 1,240 of 5,000 services done, 0 of 200 databases; continues in the next run"
        );
        let done = Progress::tally(
            false,
            false,
            p.at,
            ids.iter().map(|id| (id, Standing::Done)),
        );
        assert!(!done.in_progress());
    }
}
