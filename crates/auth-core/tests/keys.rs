//! Key loading, key ids, the JWKS, and rotation with verify-only keys. The PEM files in
//! tests/data are throwaway keys made with openssl for these tests only.
#![allow(clippy::unwrap_used)] // a test may panic on what it did not expect

use std::sync::Arc;

use auth_core::{
    Algorithm, Error, KeySet, MemoryStore, RefreshKind, Rejection, SigningKey, TokenService,
    VerifyingKey,
};

const RSA_PKCS1: &str = include_str!("data/rsa2048-pkcs1.pem");
const RSA_SPKI: &str = include_str!("data/rsa2048-spki.pem");
const P256_SEC1: &str = include_str!("data/p256-sec1.pem");
const ED25519_PKCS8: &str = include_str!("data/ed25519-pkcs8.pem");
const RSA_1024: &str = include_str!("data/rsa1024.pem");
const P384_SEC1: &str = include_str!("data/p384-sec1.pem");

#[test]
fn pem_formats_load_with_the_algorithm_of_their_key() {
    let rsa = SigningKey::from_pem(RSA_PKCS1.as_bytes(), None).unwrap();
    assert_eq!(rsa.algorithm(), Algorithm::RS512, "RSA defaults to RS512");
    let rs256 = SigningKey::from_pem(RSA_PKCS1.as_bytes(), Some(Algorithm::RS256)).unwrap();
    assert_eq!(rs256.algorithm(), Algorithm::RS256);
    let ec = SigningKey::from_pem(P256_SEC1.as_bytes(), None).unwrap();
    assert_eq!(ec.algorithm(), Algorithm::ES256);
    let ed = SigningKey::from_pem(ED25519_PKCS8.as_bytes(), None).unwrap();
    assert_eq!(ed.algorithm(), Algorithm::EdDSA);

    // A generated key survives a round trip through its PKCS#8 PEM with the same kid.
    for key in [rsa, ec, ed] {
        let again =
            SigningKey::from_pem(key.to_pkcs8_pem().as_bytes(), Some(key.algorithm())).unwrap();
        assert_eq!(again.kid(), key.kid());
    }
}

#[test]
fn unusable_keys_are_refused_with_a_key_error() {
    let cases: [(&str, &[u8], Option<Algorithm>); 6] = [
        ("not PEM", b"hello", None),
        ("RSA below 2048 bits", RSA_1024.as_bytes(), None),
        ("P-384", P384_SEC1.as_bytes(), None),
        (
            "EC key asked to sign RS512",
            P256_SEC1.as_bytes(),
            Some(Algorithm::RS512),
        ),
        (
            "RSA key asked to sign EdDSA",
            RSA_PKCS1.as_bytes(),
            Some(Algorithm::EdDSA),
        ),
        ("public key as signing key", RSA_SPKI.as_bytes(), None),
    ];
    for (name, pem, alg) in cases {
        assert!(
            matches!(SigningKey::from_pem(pem, alg), Err(Error::Key { .. })),
            "{name}"
        );
    }
}

#[test]
fn debug_output_never_shows_key_material() {
    let key = SigningKey::from_pem(RSA_PKCS1.as_bytes(), None).unwrap();
    let pem_body: String = key.to_pkcs8_pem().lines().nth(1).unwrap().to_owned();
    let shown = format!("{key:?}");
    let shown = format!("{shown} {:?}", KeySet::new(key));
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains(&pem_body[..20]), "{shown}");
}

#[test]
fn kid_is_the_rfc7638_thumbprint_and_jwks_lists_every_key() {
    let key = SigningKey::from_pem(RSA_PKCS1.as_bytes(), None).unwrap();
    let public = VerifyingKey::from_pem(RSA_SPKI.as_bytes(), None).unwrap();
    assert_eq!(public.kid(), key.kid(), "same key, same thumbprint");
    let jwk = key.verifying_key().jwk();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS512");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["e"], "AQAB");
    assert!(jwk.get("d").is_none(), "no private parameters");

    let old = SigningKey::generate_ed25519().unwrap();
    let set = KeySet::new(key)
        .with_verify_key(old.verifying_key().clone())
        .unwrap();
    let kids: Vec<&str> = set.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [set.signing_key().kid(), old.kid()]);
    assert!(
        set.with_verify_key(old.verifying_key().clone()).is_err(),
        "duplicate kid"
    );
}

#[test]
fn rfc7638_example_thumbprint() {
    // RFC 7638 section 3.1: this RSA key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    let spki = include_str!("data/rfc7638-example-spki.pem");
    let key = VerifyingKey::from_pem(spki.as_bytes(), None).unwrap();
    assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_through_verify_only_keys() {
    let store = Arc::new(MemoryStore::new());
    let old_key = SigningKey::from_pem(P256_SEC1.as_bytes(), None).unwrap();
    let old_public = old_key.verifying_key().clone();
    let before = TokenService::new(KeySet::new(old_key), store.clone());
    let pair = before.login("alice", RefreshKind::ShortTerm).await.unwrap();

    let new_key = SigningKey::generate_ed25519().unwrap();
    let after = TokenService::new(
        KeySet::new(new_key).with_verify_key(old_public).unwrap(),
        store.clone(),
    );
    after.verify_access(&pair.access_token).unwrap();
    let next = after.refresh(&pair.refresh_token).await.unwrap();
    assert!(next.access_token.starts_with(&base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!(
            r#"{{"alg":"EdDSA","kid":"{}","typ":"JWT"}}"#,
            after.keys().signing_key().kid()
        )
    )));

    // Without the old key, its tokens are unknown.
    let forgetful = TokenService::new(KeySet::new(SigningKey::generate_ed25519().unwrap()), store);
    assert_eq!(
        forgetful
            .verify_access(&pair.access_token)
            .unwrap_err()
            .rejection(),
        Some(Rejection::UnknownKey)
    );
}
