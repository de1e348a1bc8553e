//! The identity an ALB `authenticate-oidc` action vouches for: the `x-amzn-oidc-data` header, a
//! JWT the load balancer signs with ES256 (ECDSA P-256, SHA-256). It is trusted only once
//!
//! - its header names `alg` ES256, a `kid`, and a `signer` equal to the environment's
//!   `[alb] oidc_signer` (the ARN of the load balancer that must have signed it);
//! - its `exp` (in the header, and in the claims when there) is after now;
//! - its signature over `<header>.<payload>` (as sent) verifies with the public key the ALB's
//!   region publishes at `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>` (fetched
//!   through `crate::aws::elb_keys`, cached by kid).
//!
//! The ALB's base64url can carry `=` padding, which JWT libraries refuse: both forms are read.
//! The identity is the claims' `email`, else `sub`, as `oidc:<who>`. The plain
//! `x-amzn-oidc-identity` header is never trusted: it carries no signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Why the header is not an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcRefused {
    /// Not three base64url parts of JSON.
    #[error("the load balancer's sign-in header is malformed ({0})")]
    Malformed(&'static str),
    /// Signed by another load balancer, or not ES256.
    #[error("the sign-in was not made by this environment's load balancer ({0})")]
    WrongSigner(&'static str),
    /// Past its `exp`.
    #[error("the sign-in has expired: reload the page to sign in again")]
    Expired,
    /// The signature does not verify.
    #[error("the sign-in's signature does not verify")]
    BadSignature,
    /// The key could not be had.
    #[error("the sign-in cannot be checked now: {0}")]
    Key(String),
}

/// At most this many keys fetched per minute, so tokens with made-up `kid`s cannot make
/// lightsout a request amplifier.
const FETCHES_PER_MINUTE: u32 = 10;
/// At most this many keys cached (an ALB rotates a few).
const CACHED_KEYS: usize = 64;

/// Checks `x-amzn-oidc-data` headers, caching the ALB's public keys by region and kid.
pub struct OidcKeys {
    /// The key service's address instead of AWS's (a loopback fake in tests).
    base: Option<String>,
    timeout: Duration,
    cache: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    fetches: Mutex<(Instant, u32)>,
}

impl Default for OidcKeys {
    fn default() -> Self {
        OidcKeys {
            base: None,
            timeout: Duration::from_secs(3),
            cache: Mutex::new(HashMap::new()),
            fetches: Mutex::new((Instant::now(), 0)),
        }
    }
}

impl std::fmt::Debug for OidcKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcKeys")
            .field("base", &self.base)
            .finish()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
    signer: String,
    #[serde(default)]
    exp: Option<i64>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
}

impl OidcKeys {
    /// Keys from `base` (`http://127.0.0.1:PORT`) instead of AWS's key service.
    pub fn with_base(base: &str) -> OidcKeys {
        OidcKeys {
            base: Some(base.trim_end_matches('/').to_string()),
            ..OidcKeys::default()
        }
    }

    /// How many keys are cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The identity in `token` (an `x-amzn-oidc-data` value) if the load balancer `signer`
    /// signed it and it has not expired at `now`: `oidc:<email or sub>`.
    pub async fn verify(
        &self,
        token: &str,
        signer: &str,
        now: DateTime<Utc>,
    ) -> Result<String, OidcRefused> {
        let mut parts = token.trim().split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcRefused::Malformed("not three parts"));
        };
        let header: Header = serde_json::from_slice(
            &base64url(h64).ok_or(OidcRefused::Malformed("header is not base64url"))?,
        )
        .map_err(|_| OidcRefused::Malformed("header is not the ALB's JSON"))?;
        if header.alg != "ES256" {
            return Err(OidcRefused::WrongSigner("not ES256"));
        }
        if header.signer != signer {
            return Err(OidcRefused::WrongSigner("another signer"));
        }
        if header.exp.is_some_and(|e| e <= now.timestamp()) {
            return Err(OidcRefused::Expired);
        }
        if header.kid.is_empty()
            || header.kid.len() > 128
            || !header
                .kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(OidcRefused::Malformed("key id"));
        }
        let sig = base64url(s64).ok_or(OidcRefused::Malformed("signature is not base64url"))?;
        let region = region_of(signer).ok_or(OidcRefused::WrongSigner("signer is not an ARN"))?;
        let key = self.key(region, &header.kid).await?;
        let alg: &dyn ring::signature::VerificationAlgorithm = if sig.len() == 64 {
            &ring::signature::ECDSA_P256_SHA256_FIXED
        } else {
            &ring::signature::ECDSA_P256_SHA256_ASN1
        };
        let signed = &token.trim().as_bytes()[..h64.len() + 1 + p64.len()];
        ring::signature::UnparsedPublicKey::new(alg, key.as_slice())
            .verify(signed, &sig)
            .map_err(|_| OidcRefused::BadSignature)?;
        let claims: Claims = serde_json::from_slice(
            &base64url(p64).ok_or(OidcRefused::Malformed("claims are not base64url"))?,
        )
        .map_err(|_| OidcRefused::Malformed("claims are not JSON"))?;
        if claims.exp.is_some_and(|e| e <= now.timestamp()) {
            return Err(OidcRefused::Expired);
        }
        claims
            .email
            .or(claims.sub)
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty() && w.len() <= 256 && !w.chars().any(char::is_control))
            .map(|w| format!("oidc:{w}"))
            .ok_or(OidcRefused::Malformed("no email or sub"))
    }

    /// The public key (an uncompressed P-256 point) of `kid`, from the cache or the key service.
    async fn key(&self, region: &str, kid: &str) -> Result<Arc<Vec<u8>>, OidcRefused> {
        let id = format!("{region}/{kid}");
        if let Some(k) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(k.clone());
        }
        {
            let mut f = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
            if f.0.elapsed() > Duration::from_secs(60) {
                *f = (Instant::now(), 0);
            }
            if f.1 >= FETCHES_PER_MINUTE {
                return Err(OidcRefused::Key(
                    "too many unknown keys; try again in a minute".into(),
                ));
            }
            f.1 += 1;
        }
        let base = self
            .base
            .clone()
            .unwrap_or_else(|| crate::aws::elb_keys::key_base(region));
        let url = format!("{base}/{kid}");
        let timeout = self.timeout;
        let pem =
            tokio::task::spawn_blocking(move || crate::aws::elb_keys::fetch_key(&url, timeout))
                .await
                .map_err(|e| OidcRefused::Key(e.to_string()))?
                .map_err(OidcRefused::Key)?;
        let point = Arc::new(p256_point(&pem).ok_or_else(|| {
            OidcRefused::Key("the key service's answer is not a P-256 public key".into())
        })?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHED_KEYS {
            cache.clear();
        }
        cache.insert(id, point.clone());
        Ok(point)
    }
}

/// The region of an ELB ARN: `arn:aws:elasticloadbalancing:<region>:...`.
pub fn region_of(arn: &str) -> Option<&str> {
    let mut f = arn.split(':');
    let (Some("arn"), Some(_), Some("elasticloadbalancing"), Some(region)) =
        (f.next(), f.next(), f.next(), f.next())
    else {
        return None;
    };
    (!region.is_empty()).then_some(region)
}

/// DER of a P-256 SubjectPublicKeyInfo up to its 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed point of a PEM `PUBLIC KEY` that is a P-256 key; `None` for anything else.
pub fn p256_point(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    let der = base64url(&body)?;
    let point = der.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 0x04).then(|| point.to_vec())
}

/// Decodes base64 in either alphabet (url-safe or standard), with or without `=` padding (the
/// ALB pads its base64url, which JWT libraries refuse).
pub fn base64url(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone sixth of a byte left over is not base64.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_both_alphabets_with_or_without_padding() {
        assert_eq!(base64url("aGk").unwrap(), b"hi");
        assert_eq!(base64url("aGk=").unwrap(), b"hi");
        assert_eq!(base64url("-_-_").unwrap(), base64url("+/+/").unwrap());
        assert_eq!(base64url("").unwrap(), b"");
        assert!(base64url("a").is_none());
        assert!(base64url("a.b").is_none());
    }

    #[test]
    fn the_region_comes_from_the_signers_arn() {
        assert_eq!(
            region_of(
                "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:loadbalancer/app/s/1"
            ),
            Some("ap-southeast-2")
        );
        assert_eq!(region_of("arn:aws:s3:::bucket"), None);
    }
}
