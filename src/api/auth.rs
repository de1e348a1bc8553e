//! Bearer tokens and per-identity rate limiting.
//!
//! Tokens are read once (from `LIGHTSOUT_TOKENS` or a file), kept only as SHA-256 hashes, and
//! compared in constant time against every known hash. A token is never logged: an identity is
//! known by its name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name: the "who" of the audit trail.
    pub name: String,
    /// Environments it may act on; `None`: all.
    pub envs: Option<Vec<String>>,
}

impl Identity {
    /// Whether it may act on `env`.
    pub fn may(&self, env: &str) -> bool {
        self.envs
            .as_ref()
            .is_none_or(|e| e.iter().any(|x| x == env))
    }
}

/// The known tokens, as hashes.
#[derive(Default)]
pub struct Tokens {
    entries: Vec<([u8; 32], Identity)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(_, i)| i.name.as_str()).collect();
        f.debug_struct("Tokens").field("names", &names).finish()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token of an `Authorization` header value with the Bearer scheme. The scheme is matched
/// without regard to case (`bearer`, `BEARER`: RFC 9110 §11.1); `None` for another scheme or no
/// token.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Tokens {
    /// Parses token lines: `NAME TOKEN [ENV,ENV...]`, separated by newlines or `;`. A `#` starts
    /// a comment only at the start of an entry or after whitespace: inside a word it is part of
    /// it, so a token containing `#` is kept whole, never silently cut short. The error names
    /// the line, never the token.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut entries = Vec::new();
        for (n, line) in text.split(['\n', ';']).enumerate() {
            let parts: Vec<&str> = line
                .split_whitespace()
                .take_while(|w| !w.starts_with('#'))
                .collect();
            if parts.is_empty() {
                continue;
            }
            let (name, token, envs) = match parts.as_slice() {
                [name, token] => (*name, *token, None),
                [name, token, envs] => (
                    *name,
                    *token,
                    Some(envs.split(',').map(String::from).collect()),
                ),
                _ => {
                    return Err(format!(
                        "token entry {} is not `NAME TOKEN [ENV,ENV]` (a `#` after a space starts a comment)",
                        n + 1
                    ));
                }
            };
            if token.len() < 16 {
                return Err(format!(
                    "token entry {} ({name}): a token must be at least 16 characters",
                    n + 1
                ));
            }
            entries.push((
                hash(token),
                Identity {
                    name: name.to_string(),
                    envs,
                },
            ));
        }
        Ok(Tokens { entries })
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The identity a presented token belongs to. Compares against every entry, in constant
    /// time each, so the time taken does not tell which entry (or how much of one) matched.
    pub fn identify(&self, presented: &str) -> Option<Identity> {
        let h = hash(presented);
        let mut found = None;
        for (known, id) in &self.entries {
            if bool::from(known.ct_eq(&h)) && found.is_none() {
                found = Some(id.clone());
            }
        }
        found
    }
}

/// A token bucket per identity for state-changing requests.
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `burst` requests at once, refilled at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `who`; `Err(retry_after)` when the bucket is empty.
    pub fn take(&self, who: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets
            .entry(who.to_string())
            .or_insert((self.capacity, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.per_second).min(self.capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - *tokens) / self.per_second).ceil(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_identify_by_hash_and_scope_environments() {
        let t = Tokens::parse("alice aaaaaaaaaaaaaaaa\nbob bbbbbbbbbbbbbbbb staging,preview # ci")
            .unwrap();
        assert_eq!(t.identify("aaaaaaaaaaaaaaaa").unwrap().name, "alice");
        let bob = t.identify("bbbbbbbbbbbbbbbb").unwrap();
        assert!(bob.may("staging") && !bob.may("prod-like"));
        assert!(t.identify("aaaaaaaaaaaaaaab").is_none());
        assert!(t.identify("").is_none());
        assert!(
            !format!("{t:?}").contains("aaaa"),
            "tokens never appear in Debug output"
        );
    }

    /// A `#` inside a token is part of it; one after whitespace (or starting an entry) starts a
    /// comment; a token that would start with `#` is an error, not an entry without a token.
    #[test]
    fn a_hash_inside_a_token_is_part_of_it() {
        let t = Tokens::parse(
            "# team tokens\nalice abcdefgh#ijklmnop # alice's laptop\nbob bbbbbbbbbbbbbbbb staging #ci",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.identify("abcdefgh#ijklmnop").unwrap().name, "alice");
        assert!(t.identify("abcdefgh").is_none(), "never cut at the #");
        assert_eq!(
            t.identify("bbbbbbbbbbbbbbbb").unwrap().envs,
            Some(vec!["staging".to_string()])
        );
        let e = Tokens::parse("alice #abcdefghijklmnop").unwrap_err();
        assert!(e.contains("entry 1") && e.contains("comment"), "{e}");
        assert!(!e.contains("abcdefghijklmnop"), "{e}");
    }

    /// The scheme is case-insensitive; another scheme or an empty token is no bearer token.
    #[test]
    fn bearer_scheme_matches_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER   abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }

    #[test]
    fn short_tokens_and_bad_lines_are_refused_without_echoing_the_token() {
        let e = Tokens::parse("alice short").unwrap_err();
        assert!(e.contains("at least 16") && !e.contains("short"), "{e}");
        assert!(Tokens::parse("alice").is_err());
    }

    #[test]
    fn limiter_allows_a_burst_then_says_when_to_retry() {
        let l = RateLimiter::new(2, 6);
        let t0 = Instant::now();
        assert!(l.take("a", t0).is_ok());
        assert!(l.take("a", t0).is_ok());
        assert_eq!(l.take("a", t0), Err(Duration::from_secs(10)));
        assert!(l.take("b", t0).is_ok(), "per identity");
        assert!(l.take("a", t0 + Duration::from_secs(10)).is_ok());
    }
}
