//! Signed wake links: `https://<host>/?lightsout_wake=<env>.<expiry>.<hmac>`, an identity the
//! front door's waiting page accepts for its "Wake for 1 h" button (`wake_on_request =
//! "button"`). Slack gets them in the heads-up and in the slash command's answers, so whoever can
//! read that channel can wake the environment for an hour until the link expires.
//!
//! The HMAC-SHA256 is keyed with `LIGHTSOUT_LINK_SECRET` (or the Slack signing secret) over
//! `lightsout-wake-link\n<env>\n<expiry>`: a prefix Slack's `v0:` signatures never start with, so
//! neither can stand in for the other. It is compared in constant time; a link lives at most
//! [`MAX_LIFE`], and one that claims to live longer is refused even when its HMAC is right.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The query parameter that carries a link.
pub const PARAM: &str = "lightsout_wake";
/// How long a link lives at most.
pub const MAX_LIFE: TimeDelta = TimeDelta::hours(24);
/// How long the links lightsout makes live.
pub const LIFE: TimeDelta = TimeDelta::hours(12);

/// Why a link is not an identity, in words the waiting page shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    /// Not `<env>.<expiry>.<hmac>`.
    #[error("this wake link is malformed: copy the whole link from Slack")]
    Malformed,
    /// The HMAC does not match: not made by this lightsout, or changed.
    #[error("this wake link is not valid (not signed by lightsout, or changed)")]
    Forged,
    /// For another environment.
    #[error("this wake link is for another environment")]
    OtherEnvironment,
    /// Past its expiry.
    #[error("this wake link expired at {0}: ask Slack for a new one (/staging status)")]
    Expired(DateTime<Utc>),
    /// Claims a life longer than [`MAX_LIFE`].
    #[error("this wake link claims to live longer than 24 hours, which lightsout never signs")]
    TooLong,
}

/// Makes and checks wake links with one secret.
pub struct WakeLinks {
    secret: Vec<u8>,
}

impl std::fmt::Debug for WakeLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WakeLinks { secret: <redacted> }")
    }
}

impl WakeLinks {
    /// Links signed with `secret`.
    pub fn new(secret: &str) -> WakeLinks {
        WakeLinks {
            secret: secret.trim().as_bytes().to_vec(),
        }
    }

    fn mac(&self, env: &str, expiry: i64) -> hmac::Hmac<Sha256> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes keys of any length");
        mac.update(b"lightsout-wake-link\n");
        mac.update(env.as_bytes());
        mac.update(b"\n");
        mac.update(expiry.to_string().as_bytes());
        mac
    }

    /// `<env>.<expiry>.<hex hmac>`, valid until `expires`.
    pub fn token(&self, env: &str, expires: DateTime<Utc>) -> String {
        let expiry = expires.timestamp();
        let tag = self.mac(env, expiry).finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("{env}.{expiry}.{hex}")
    }

    /// The link to `host`'s waiting page, valid for [`LIFE`] from `now`.
    pub fn url(&self, host: &str, env: &str, now: DateTime<Utc>) -> String {
        let token: String =
            form_urlencoded::byte_serialize(self.token(env, now + LIFE).as_bytes()).collect();
        format!("https://{host}/?{PARAM}={token}")
    }

    /// Whether `token` lets its holder wake `env` at `now`.
    pub fn check(&self, token: &str, env: &str, now: DateTime<Utc>) -> Result<(), LinkRefused> {
        let mut parts = token.trim().rsplitn(3, '.');
        let (Some(hex), Some(expiry), Some(named)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefused::Malformed);
        };
        let expiry: i64 = expiry.parse().map_err(|_| LinkRefused::Malformed)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LinkRefused::Malformed);
        }
        let given: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        let expected = self.mac(named, expiry).finalize().into_bytes();
        if !bool::from(expected.as_slice().ct_eq(&given)) {
            return Err(LinkRefused::Forged);
        }
        if named != env {
            return Err(LinkRefused::OtherEnvironment);
        }
        let expires = DateTime::from_timestamp(expiry, 0).ok_or(LinkRefused::Malformed)?;
        if expires <= now {
            return Err(LinkRefused::Expired(expires));
        }
        if expires - now > MAX_LIFE {
            return Err(LinkRefused::TooLong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-02T09:00:00Z".parse().unwrap()
    }

    /// A link made here checks until it expires, for its environment only; a changed, forged or
    /// over-long one is refused with its reason.
    #[test]
    fn links_check_until_they_expire_and_only_for_their_environment() {
        let links = WakeLinks::new("link-secret");
        let t = links.token("staging", now() + LIFE);
        assert_eq!(links.check(&t, "staging", now()), Ok(()));
        assert_eq!(
            links.check(&t, "staging", now() + LIFE),
            Err(LinkRefused::Expired(now() + LIFE))
        );
        assert_eq!(
            links.check(&t, "preview", now()),
            Err(LinkRefused::OtherEnvironment)
        );
        let other = WakeLinks::new("another-secret").token("staging", now() + LIFE);
        assert_eq!(
            links.check(&other, "staging", now()),
            Err(LinkRefused::Forged)
        );
        let moved = t.replacen(
            &(now() + LIFE).timestamp().to_string(),
            &(now() + LIFE + TimeDelta::hours(1)).timestamp().to_string(),
            1,
        );
        assert_eq!(
            links.check(&moved, "staging", now()),
            Err(LinkRefused::Forged)
        );
        let long = links.token("staging", now() + TimeDelta::hours(25));
        assert_eq!(
            links.check(&long, "staging", now()),
            Err(LinkRefused::TooLong)
        );
        for bad in ["", "staging", "staging.x.abc", "staging.1.zz"] {
            assert_eq!(
                links.check(bad, "staging", now()),
                Err(LinkRefused::Malformed)
            );
        }
        let dotted = links.token("eu.staging", now() + LIFE);
        assert_eq!(links.check(&dotted, "eu.staging", now()), Ok(()));
        assert!(!format!("{links:?}").contains("link-secret"));
    }

    #[test]
    fn the_url_points_at_the_hosts_waiting_page() {
        let links = WakeLinks::new("s");
        let url = links.url("staging.example.com", "staging", now());
        let expiry = (now() + LIFE).timestamp();
        assert!(
            url.starts_with(&format!(
                "https://staging.example.com/?lightsout_wake=staging.{expiry}."
            )),
            "{url}"
        );
    }
}
