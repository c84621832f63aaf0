//! The forged-token catalogue: every token here must be refused as invalid, and the store
//! must never be consulted (the store below panics if it is).
#![allow(clippy::unwrap_used)] // a test may panic on what it did not expect

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    Error, Family, FamilyId, KeySet, ManualClock, NewToken, RefreshKind, Rejection, RevokeReason,
    Rotation, SigningKey, TokenId, TokenService, TokenState, TokenStore,
};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA512, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// A store that fails the test if anything reaches it.
#[derive(Debug)]
struct Untouchable;

#[async_trait]
impl TokenStore for Untouchable {
    async fn insert_family(&self, _: &Family, _: &NewToken) -> auth_core::Result<()> {
        panic!("store touched: insert_family")
    }
    async fn rotate(
        &self,
        _: &str,
        _: TokenId,
        _: &NewToken,
        _: OffsetDateTime,
    ) -> auth_core::Result<Rotation> {
        panic!("store touched: rotate")
    }
    async fn revoke_token(
        &self,
        _: &str,
        _: TokenId,
        _: RevokeReason,
        _: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        panic!("store touched: revoke_token")
    }
    async fn revoke_family(
        &self,
        _: &str,
        _: FamilyId,
        _: RevokeReason,
        _: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        panic!("store touched: revoke_family")
    }
    async fn revoke_subject(
        &self,
        _: &str,
        _: RevokeReason,
        _: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        panic!("store touched: revoke_subject")
    }
    async fn token_status(&self, _: &str, _: TokenId) -> auth_core::Result<Option<TokenState>> {
        panic!("store touched: token_status")
    }
    async fn family_status(&self, _: &str, _: FamilyId) -> auth_core::Result<Option<Family>> {
        panic!("store touched: family_status")
    }
    async fn purge_expired(&self, _: OffsetDateTime, _: u32) -> auth_core::Result<u64> {
        panic!("store touched: purge_expired")
    }
}

const NOW: OffsetDateTime = datetime!(2026-12-04 12:00:00 UTC);

struct Forger {
    service: TokenService,
    pem: String,
    kid: String,
    public_n: Vec<u8>,
}

impl Forger {
    fn new() -> Self {
        let key = SigningKey::generate_rsa(auth_core::Algorithm::RS512).unwrap();
        let pem = key.to_pkcs8_pem();
        let kid = key.kid().to_owned();
        let jwk = key.verifying_key().jwk();
        let public_n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
        let service = TokenService::new(KeySet::new(key), Arc::new(Untouchable))
            .with_clock(ManualClock::new(NOW));
        Forger {
            service,
            pem,
            kid,
            public_n,
        }
    }

    /// Signs any header and payload with our real private key.
    fn sign(&self, header: &Value, payload: &Value) -> String {
        let der = pem::parse(&self.pem).unwrap();
        let kp = RsaKeyPair::from_pkcs8(der.contents()).unwrap();
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(payload.to_string())
        );
        let mut sig = vec![0; kp.public_modulus_len()];
        kp.sign(
            &RSA_PKCS1_SHA512,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", B64.encode(sig))
    }

    fn header(&self) -> Value {
        json!({"alg": "RS512", "kid": self.kid, "typ": "JWT"})
    }

    fn refresh_claims(&self) -> Value {
        let t = NOW.unix_timestamp();
        json!({"unique_name": "alice", "token_id": TokenId::random().to_string(),
               "short_term_expiration": "True", "nbf": t, "exp": t + 600, "iat": t, "aud": "refresh"})
    }

    fn access_claims(&self) -> Value {
        let t = NOW.unix_timestamp();
        json!({"unique_name": "alice", "sid": FamilyId::random().to_string(),
               "nbf": t, "exp": t + 600, "iat": t, "aud": "access"})
    }

    fn with(&self, base: Value, key: &str, value: Value) -> Value {
        let mut v = base;
        v[key] = value;
        v
    }

    /// Every forged refresh token, named.
    fn refresh_catalogue(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let claims = self.refresh_claims();
        let good = self.sign(&self.header(), &claims);
        let unsigned = |header: Value, payload: &Value| {
            format!(
                "{}.{}.",
                B64.encode(header.to_string()),
                B64.encode(payload.to_string())
            )
        };
        for none in ["none", "None", "NONE", "nOnE"] {
            let h = json!({"alg": none, "kid": self.kid, "typ": "JWT"});
            out.push((format!("alg {none}"), unsigned(h, &claims)));
        }
        for (alg, hmac_alg) in [
            ("HS256", aws_lc_rs::hmac::HMAC_SHA256),
            ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
        ] {
            for (what, secret) in [
                ("pem", self.public_pem_guess()),
                ("modulus", self.public_n.clone()),
            ] {
                let h = json!({"alg": alg, "kid": self.kid, "typ": "JWT"});
                let input = format!(
                    "{}.{}",
                    B64.encode(h.to_string()),
                    B64.encode(claims.to_string())
                );
                let tag = aws_lc_rs::hmac::sign(
                    &aws_lc_rs::hmac::Key::new(hmac_alg, &secret),
                    input.as_bytes(),
                );
                out.push((
                    format!("{alg} keyed with the public {what}"),
                    format!("{input}.{}", B64.encode(tag)),
                ));
            }
        }
        let other = SigningKey::generate_rsa(auth_core::Algorithm::RS512)
            .unwrap()
            .with_kid(self.kid.clone());
        let impostor =
            TokenService::new(KeySet::new(other), Arc::new(auth_core::MemoryStore::new()))
                .with_clock(ManualClock::new(NOW));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let forged_pair = rt
            .block_on(impostor.login("alice", RefreshKind::ShortTerm))
            .unwrap();
        out.push((
            "another RSA key under our kid".into(),
            forged_pair.refresh_token,
        ));
        let unknown = TokenService::new(
            KeySet::new(SigningKey::generate_ed25519().unwrap()),
            Arc::new(auth_core::MemoryStore::new()),
        )
        .with_clock(ManualClock::new(NOW));
        let unknown_pair = rt
            .block_on(unknown.login("alice", RefreshKind::ShortTerm))
            .unwrap();
        out.push(("unknown kid".into(), unknown_pair.refresh_token));
        out.push((
            "missing kid".into(),
            self.sign(&json!({"alg": "RS512", "typ": "JWT"}), &claims),
        ));
        out.push((
            "kid of the wrong JSON type".into(),
            self.sign(&json!({"alg": "RS512", "kid": 7, "typ": "JWT"}), &claims),
        ));
        out.push((
            "unknown crit".into(),
            self.sign(
                &json!({"alg": "RS512", "kid": self.kid, "typ": "JWT", "crit": ["exp2"], "exp2": 1}),
                &claims,
            ),
        ));
        out.push((
            "RS256 header on our RS512 key".into(),
            self.sign(
                &json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}),
                &claims,
            ),
        ));
        out.push((
            "access token as refresh token".into(),
            self.sign(&self.header(), &self.access_claims()),
        ));
        let mut parts: Vec<&str> = good.split('.').collect();
        let tampered = B64.encode(
            self.with(claims.clone(), "unique_name", json!("mallory"))
                .to_string(),
        );
        parts[1] = &tampered;
        out.push(("tampered payload, old signature".into(), parts.join(".")));
        let stripped = good.rsplit_once('.').unwrap().0.to_owned();
        out.push(("signature stripped, two parts".into(), stripped.clone()));
        out.push(("signature emptied".into(), format!("{stripped}.")));
        let t = NOW.unix_timestamp();
        out.push((
            "expired".into(),
            self.sign(
                &self.header(),
                &self.with(claims.clone(), "exp", json!(t - 60)),
            ),
        ));
        out.push((
            "nbf in the future".into(),
            self.sign(
                &self.header(),
                &self.with(claims.clone(), "nbf", json!(t + 60)),
            ),
        ));
        out.push((
            "aud array".into(),
            self.sign(
                &self.header(),
                &self.with(claims.clone(), "aud", json!(["refresh"])),
            ),
        ));
        out.push((
            "aud missing".into(),
            self.sign(&self.header(), &{
                let mut c = claims.clone();
                c.as_object_mut().unwrap().remove("aud");
                c
            }),
        ));
        out.push((
            "aud access".into(),
            self.sign(
                &self.header(),
                &self.with(claims.clone(), "aud", json!("access")),
            ),
        ));
        for (field, bad) in [
            ("exp", json!(format!("{}", t + 600))),
            ("nbf", json!(null)),
            ("iat", json!(1.5)),
            ("unique_name", json!(42)),
            ("token_id", json!("not-a-uuid")),
            ("token_id", json!(null)),
            ("short_term_expiration", json!(true)),
            ("short_term_expiration", json!("true")),
        ] {
            out.push((
                format!("{field} = {bad}"),
                self.sign(
                    &self.header(),
                    &self.with(claims.clone(), field, bad.clone()),
                ),
            ));
        }
        for field in ["exp", "nbf", "token_id", "unique_name"] {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove(field);
            out.push((format!("{field} missing"), self.sign(&self.header(), &c)));
        }
        let huge = self.with(claims.clone(), "padding", json!("x".repeat(16 * 1024)));
        out.push(("oversize".into(), self.sign(&self.header(), &huge)));
        for junk in [
            "",
            ".",
            "..",
            "a.b.c",
            "not a jwt",
            "e30.e30.e30",
            "\u{0}\u{0}..",
        ] {
            out.push((format!("junk {junk:?}"), junk.to_owned()));
        }
        out
    }

    fn public_pem_guess(&self) -> Vec<u8> {
        self.service.jwks().to_string().into_bytes()
    }
}

#[test]
fn forged_refresh_tokens_are_refused_without_touching_the_store() {
    let forger = Forger::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Sanity: the catalogue's own signing is sound, so the rejections below are about the
    // forgery and not about the test's signer.
    let genuine = forger.sign(&forger.header(), &forger.refresh_claims());
    forger
        .service
        .verify_refresh(&genuine)
        .expect("genuine token verifies");

    for (name, token) in forger.refresh_catalogue() {
        let offline = forger.service.verify_refresh(&token);
        assert!(
            matches!(offline, Err(Error::InvalidToken(_))),
            "{name}: verify_refresh accepted or failed wrongly: {offline:?}"
        );
        let online = rt.block_on(forger.service.refresh(&token));
        assert!(
            matches!(online, Err(Error::InvalidToken(_))),
            "{name}: refresh accepted or failed wrongly: {online:?}"
        );
        // Revocation skips the time checks (an expired token may still be revoked), so
        // those two genuine-but-stale tokens legitimately reach the store.
        if name != "expired" && name != "nbf in the future" {
            let revoked = rt.block_on(forger.service.revoke(&token));
            assert!(
                matches!(revoked, Err(Error::InvalidToken(_))),
                "{name}: revoke accepted: {revoked:?}"
            );
        }
    }
}

#[test]
fn specific_rejections_name_the_cause() {
    let forger = Forger::new();
    let catalogue = forger.refresh_catalogue();
    let reason = |name: &str| {
        let token = &catalogue.iter().find(|(n, _)| n == name).unwrap().1;
        forger
            .service
            .verify_refresh(token)
            .unwrap_err()
            .rejection()
    };
    assert_eq!(reason("alg none"), Some(Rejection::Malformed));
    assert_eq!(
        reason("HS256 keyed with the public pem"),
        Some(Rejection::AlgorithmMismatch)
    );
    assert_eq!(
        reason("RS256 header on our RS512 key"),
        Some(Rejection::AlgorithmMismatch)
    );
    assert_eq!(
        reason("another RSA key under our kid"),
        Some(Rejection::BadSignature)
    );
    assert_eq!(
        reason("tampered payload, old signature"),
        Some(Rejection::BadSignature)
    );
    assert_eq!(reason("unknown kid"), Some(Rejection::UnknownKey));
    assert_eq!(reason("missing kid"), Some(Rejection::UnknownKey));
    assert_eq!(reason("unknown crit"), Some(Rejection::UnsupportedCritical));
    assert_eq!(reason("expired"), Some(Rejection::Expired));
    assert_eq!(reason("nbf in the future"), Some(Rejection::NotYetValid));
    assert_eq!(reason("aud access"), Some(Rejection::WrongAudience));
    assert_eq!(reason("oversize"), Some(Rejection::Malformed));
}

#[test]
fn refresh_token_is_not_an_access_token() {
    let forger = Forger::new();
    let refresh = forger.sign(&forger.header(), &forger.refresh_claims());
    assert!(forger.service.verify_access(&refresh).is_err());
    let access = forger.sign(&forger.header(), &forger.access_claims());
    forger
        .service
        .verify_access(&access)
        .expect("genuine access token");
    let array_aud = forger.sign(
        &forger.header(),
        &forger.with(forger.access_claims(), "aud", json!(["access"])),
    );
    assert!(forger.service.verify_access(&array_aud).is_err());
    let stale = forger.sign(
        &forger.header(),
        &forger.with(
            forger.access_claims(),
            "exp",
            json!(NOW.unix_timestamp() - 10),
        ),
    );
    assert_eq!(
        forger
            .service
            .verify_access(&stale)
            .unwrap_err()
            .rejection(),
        Some(Rejection::Expired),
        "expired beyond the 5 s leeway"
    );
}
