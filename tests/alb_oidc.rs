//! The ALB's OIDC identity (`x-amzn-oidc-data`) as the waiting page button's identity: trusted
//! only when its ES256 signature verifies with the key the ALB's key service publishes for its
//! `kid` (a loopback fake here, with a key made in the test), its `signer` is the configured load
//! balancer and it has not expired.

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use chrono::{DateTime, Utc};
use lightsout::api::oidc::OidcKeys;
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::model::Config;
use lightsout::store::SqliteStore;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use support::EmptyCloud;
use tower::ServiceExt;

const HOST: &str = "staging.example.com";
const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";
const SIGNER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/staging/50dc6c495c0c9188";
const KID: &str = "7a4f0b52-2d6e-4b1c-9a1e-3c5d7e9f0a1b";

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// A P-256 key made for the test.
fn key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

/// Its public key as the ALB's key service answers it: a PEM SubjectPublicKeyInfo.
fn pem(key: &EcdsaKeyPair) -> String {
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(key.public_key().as_ref());
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &b64[..64],
        &b64[64..]
    )
}

/// A loopback key service: `GET /<KID>` answers the PEM; it counts the requests.
fn key_service(pem: String) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(s.try_clone().unwrap());
            reader.read_line(&mut line).unwrap_or(0);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
            }
            counted.fetch_add(1, Ordering::SeqCst);
            let answer = if line.starts_with(&format!("GET /{KID} ")) {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{pem}",
                    pem.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into()
            };
            let _ = s.write_all(answer.as_bytes());
        }
    });
    (base, hits)
}

/// A token as the ALB makes it: base64url *with* `=` padding (`padded`) or without.
fn token(key: &EcdsaKeyPair, header: Value, claims: Value, padded: bool) -> String {
    let enc = |b: &[u8]| {
        if padded {
            base64::engine::general_purpose::URL_SAFE.encode(b)
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        }
    };
    let signed = format!(
        "{}.{}",
        enc(header.to_string().as_bytes()),
        enc(claims.to_string().as_bytes())
    );
    let sig = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
    format!("{signed}.{}", enc(sig.as_ref()))
}

fn alb_header(signer: &str, exp: i64) -> Value {
    json!({"typ": "JWT", "kid": KID, "alg": "ES256", "iss": "https://idp.example.com",
           "client": "client-1", "signer": signer, "exp": exp})
}

fn claims(email: &str, exp: i64) -> Value {
    json!({"sub": "1234567890", "email": email, "exp": exp, "iss": "https://idp.example.com"})
}

fn later() -> i64 {
    night().timestamp() + 120
}

/// Padded (as the ALB sends it) and unpadded tokens verify; the key is fetched once for its
/// kid, then cached.
#[tokio::test]
async fn a_signed_header_verifies_padded_or_not_and_the_key_is_cached() {
    let k = key();
    let (base, hits) = key_service(pem(&k));
    let keys = OidcKeys::with_base(&base);
    for padded in [true, false] {
        let t = token(
            &k,
            alb_header(SIGNER, later()),
            claims("dev@example.com", later()),
            padded,
        );
        assert_eq!(
            keys.verify(&t, SIGNER, night()).await,
            Ok("oidc:dev@example.com".to_string())
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch for the kid");
    assert_eq!(keys.cached(), 1);
    let t = token(
        &k,
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let started = std::time::Instant::now();
    for _ in 0..200 {
        assert!(keys.verify(&t, SIGNER, night()).await.is_ok());
    }
    println!(
        "a verified x-amzn-oidc-data with its key cached: {:?} each",
        started.elapsed() / 200
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Another load balancer, an expired sign-in, changed claims, another key under the same kid, an
/// unknown kid and a non-ES256 header are all refused, each with its reason.
#[tokio::test]
async fn forged_expired_and_foreign_headers_are_refused() {
    let k = key();
    let (base, _) = key_service(pem(&k));
    let keys = OidcKeys::with_base(&base);
    let other = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1";
    let t = token(
        &k,
        alb_header(other, later()),
        claims("dev@example.com", later()),
        true,
    );
    let e = keys
        .verify(&t, SIGNER, night())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not made by this environment's load balancer"),
        "{e}"
    );

    let past = night().timestamp() - 1;
    let t = token(
        &k,
        alb_header(SIGNER, past),
        claims("dev@example.com", later()),
        true,
    );
    assert!(
        keys.verify(&t, SIGNER, night())
            .await
            .unwrap_err()
            .to_string()
            .contains("expired")
    );
    let t = token(
        &k,
        alb_header(SIGNER, later()),
        claims("dev@example.com", past),
        true,
    );
    assert!(
        keys.verify(&t, SIGNER, night())
            .await
            .unwrap_err()
            .to_string()
            .contains("expired")
    );

    // The claims changed after signing: same header and signature, another email.
    let t = token(
        &k,
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let parts: Vec<&str> = t.split('.').collect();
    let forged_claims = base64::engine::general_purpose::URL_SAFE
        .encode(claims("boss@example.com", later()).to_string());
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let e = keys
        .verify(&forged, SIGNER, night())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("signature does not verify"), "{e}");
    // Signed by a key that is not the one published for the kid.
    let t = token(
        &key(),
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let e = keys
        .verify(&t, SIGNER, night())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("signature does not verify"), "{e}");

    let mut unknown = alb_header(SIGNER, later());
    unknown["kid"] = "not-published".into();
    let t = token(&k, unknown, claims("dev@example.com", later()), true);
    let e = keys
        .verify(&t, SIGNER, night())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot be checked now") && e.contains("404"),
        "{e}"
    );
    let mut hs = alb_header(SIGNER, later());
    hs["alg"] = "HS256".into();
    let t = token(&k, hs, claims("dev@example.com", later()), true);
    assert!(keys.verify(&t, SIGNER, night()).await.is_err());
    assert!(keys.verify("a.b", SIGNER, night()).await.is_err());
}

fn app(signer: bool, keys: OidcKeys) -> (Arc<ApiState<EmptyCloud>>, Arc<SqliteStore>) {
    let signer = if signer {
        format!("oidc_signer = \"{SIGNER}\"\n")
    } else {
        String::new()
    };
    let src = format!(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n\
         [rds]\ninstances = [\"db\"]\n\
         [alb]\nhosts = [\"{HOST}\"]\n{signer}\
         [[alb.rules]]\nrule = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/1/2/3\"\napp = \"{TG}/app/1\"\nwake = \"{TG}/wake/2\"\n"
    );
    let env = lightsout::config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let mut api = ApiState::new(
        Arc::new(lightsout::service::Service::new(
            Config {
                environments: vec![env],
            },
            EmptyCloud,
            store.clone(),
            Arc::new(ManualClock::new(night())),
            "test".into(),
        )),
        Tokens::default(),
    );
    api.oidc = keys;
    (Arc::new(api), store)
}

async fn click(api: &Arc<ApiState<EmptyCloud>>, header: (&str, &str)) -> (StatusCode, String) {
    let req = Request::post("/.lightsout/wake")
        .header(header::HOST, HOST)
        .header(header.0, header.1)
        .body(Body::empty())
        .unwrap();
    let r = router(api.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let body = to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Through the front door: the bare `x-amzn-oidc-identity` (unsigned) and a header that does
/// not verify are refused; a verified one wakes as `request:oidc:<email>`.
#[tokio::test]
async fn the_button_trusts_only_a_verified_header() {
    let k = key();
    let (base, _) = key_service(pem(&k));
    let (api, store) = app(true, OidcKeys::with_base(&base));
    let (status, body) = click(&api, ("x-amzn-oidc-identity", "dev@example.com")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let forged = token(
        &key(),
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let (status, body) = click(&api, ("x-amzn-oidc-data", &forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("signature"), "{body}");
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
    let good = token(
        &k,
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let (status, body) = click(&api, ("x-amzn-oidc-data", &good)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:oidc:dev@example.com"]
    );
}

/// Without `[alb] oidc_signer` the header cannot be checked, so it is no identity, and the
/// answer says what to set.
#[tokio::test]
async fn without_a_configured_signer_the_header_is_no_identity() {
    let k = key();
    let (base, hits) = key_service(pem(&k));
    let (api, store) = app(false, OidcKeys::with_base(&base));
    let good = token(
        &k,
        alb_header(SIGNER, later()),
        claims("dev@example.com", later()),
        true,
    );
    let (status, body) = click(&api, ("x-amzn-oidc-data", &good)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("oidc_signer"), "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no key fetched");
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
}
