//! TokenService over MemoryStore: the lifecycle and DESIGN.md section 3's policy.
#![allow(clippy::unwrap_used)] // a test may panic on what it did not expect

use std::sync::Arc;

use auth_core::{
    Config, Error, Introspection, KeySet, ManualClock, MemoryStore, RefreshKind, Rejection,
    RevokeReason, SigningKey, TokenPair, TokenService, TokenStore,
};
use time::{Duration, macros::datetime};

struct Fixture {
    service: TokenService,
    store: MemoryStore,
    clock: ManualClock,
}

fn fixture(config: Config) -> Fixture {
    let store = MemoryStore::new();
    let clock = ManualClock::new(datetime!(2026-12-04 12:00:00.250 UTC));
    let keys = KeySet::new(SigningKey::generate_ed25519().expect("keygen"));
    let service = TokenService::new(keys, Arc::new(store.clone()))
        .with_config(config)
        .with_clock(clock.clone());
    Fixture {
        service,
        store,
        clock,
    }
}

impl Fixture {
    async fn login(&self, subject: &str, kind: RefreshKind) -> TokenPair {
        self.service.login(subject, kind).await.expect("login")
    }
}

fn rejection(r: Result<impl std::fmt::Debug, Error>) -> Rejection {
    match r {
        Err(Error::InvalidToken(reason)) => reason,
        other => panic!("expected an invalid-token error, got {other:?}"),
    }
}

#[tokio::test]
async fn login_issues_claims_of_the_contract() {
    let f = fixture(Config::default());
    let pair = f.login("alice", RefreshKind::ShortTerm).await;
    let now = f.clock.now_secs();
    assert_eq!(pair.access.unique_name, "alice");
    assert_eq!((pair.access.iat, pair.access.nbf), (now, now));
    assert_eq!(pair.access.exp - pair.access.iat, 900);
    assert_eq!(pair.expires_in(), 900);
    assert_eq!(pair.access.aud, "access");
    assert_eq!(pair.refresh.aud, "refresh");
    assert_eq!(pair.refresh.exp - pair.refresh.iat, 75 * 60);
    assert_eq!(pair.refresh.short_term_expiration, RefreshKind::ShortTerm);

    let long = f.login("alice", RefreshKind::LongTerm).await;
    assert_eq!(long.refresh.exp - long.refresh.iat, 14 * 24 * 3600);
    assert_ne!(
        long.access.sid, pair.access.sid,
        "a login starts a new family"
    );

    // The wire shape: field names and the "True"/"False" strings.
    let payload = pair.refresh_token.split('.').nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["short_term_expiration"], "True");
    let token_id = json["token_id"].as_str().unwrap();
    assert_eq!(token_id, token_id.to_lowercase());
    assert_eq!(
        uuid::Uuid::parse_str(token_id).unwrap().get_version_num(),
        4
    );
}

#[tokio::test]
async fn refresh_rotates_once_and_reuse_revokes_the_family() {
    let f = fixture(Config::default());
    let first = f.login("alice", RefreshKind::LongTerm).await;
    let other = f.login("alice", RefreshKind::LongTerm).await;
    f.clock.advance(Duration::seconds(30));

    let second = f.service.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(second.access.sid, first.access.sid, "same family");
    assert_ne!(second.refresh.token_id, first.refresh.token_id);
    assert_eq!(second.refresh.short_term_expiration, RefreshKind::LongTerm);
    assert_eq!(
        second.refresh.iat,
        first.refresh.iat + 30,
        "lifetime restarts"
    );

    assert_eq!(
        rejection(f.service.refresh(&first.refresh_token).await),
        Rejection::Reused
    );
    let family = f
        .store
        .family_status("alice", first.access.sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(family.revoked.unwrap().reason, RevokeReason::Reuse);
    assert_eq!(
        rejection(f.service.refresh(&second.refresh_token).await),
        Rejection::Revoked,
        "the newest token of the family stops working too"
    );
    assert!(
        f.service.refresh(&other.refresh_token).await.is_ok(),
        "another session of the same user is untouched"
    );
}

#[tokio::test]
async fn reuse_grace_remints_the_same_child_only_while_unused() {
    let f = fixture(Config::default().with_reuse_grace(Duration::seconds(10)));
    let first = f.login("bob", RefreshKind::ShortTerm).await;
    let second = f.service.refresh(&first.refresh_token).await.unwrap();
    f.clock.advance(Duration::seconds(3));
    let retry = f.service.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(
        retry, second,
        "a retry inside the grace gets the identical pair"
    );

    // Once the child has been used, the parent is a plain reuse.
    let third = f.service.refresh(&second.refresh_token).await.unwrap();
    assert_eq!(
        rejection(f.service.refresh(&first.refresh_token).await),
        Rejection::Reused
    );
    assert_eq!(
        rejection(f.service.refresh(&third.refresh_token).await),
        Rejection::Revoked
    );
}

#[tokio::test]
async fn reuse_after_the_grace_revokes() {
    let f = fixture(Config::default().with_reuse_grace(Duration::seconds(10)));
    let first = f.login("bob", RefreshKind::ShortTerm).await;
    let second = f.service.refresh(&first.refresh_token).await.unwrap();
    f.clock.advance(Duration::seconds(11));
    assert_eq!(
        rejection(f.service.refresh(&first.refresh_token).await),
        Rejection::Reused
    );
    assert!(f.service.refresh(&second.refresh_token).await.is_err());
}

#[tokio::test]
async fn expiry_follows_the_clock_with_leeway() {
    let f = fixture(
        Config::default()
            .with_refresh_ttl(Duration::seconds(60))
            .with_access_ttl(Duration::seconds(30))
            .with_leeway(Duration::seconds(2)),
    );
    let pair = f.login("carol", RefreshKind::ShortTerm).await;
    f.clock.advance(Duration::seconds(31));
    assert!(
        f.service.verify_access(&pair.access_token).is_ok(),
        "inside leeway"
    );
    f.clock.advance(Duration::seconds(1));
    assert_eq!(
        rejection(f.service.verify_access(&pair.access_token)),
        Rejection::Expired
    );
    f.clock.advance(Duration::seconds(30));
    assert_eq!(
        rejection(f.service.refresh(&pair.refresh_token).await),
        Rejection::Expired
    );
}

#[tokio::test]
async fn logout_revocation_and_introspection() {
    let f = fixture(Config::default());
    let a = f.login("dave", RefreshKind::ShortTerm).await;
    let b = f.login("dave", RefreshKind::ShortTerm).await;
    let c = f.login("erin", RefreshKind::ShortTerm).await;

    assert!(matches!(
        f.service.introspect(&a.refresh_token).await.unwrap(),
        Introspection::Refresh(ref r) if r.token_id == a.refresh.token_id
    ));
    assert!(matches!(
        f.service.introspect(&a.access_token).await.unwrap(),
        Introspection::Access(ref x) if x.sid == a.access.sid
    ));
    assert_eq!(
        f.service.introspect("not a token").await.unwrap(),
        Introspection::Inactive
    );

    let claims = f.service.verify_access(&a.access_token).unwrap();
    assert_eq!(f.service.logout(&claims, false).await.unwrap(), 1);
    assert_eq!(f.service.logout(&claims, false).await.unwrap(), 0);
    assert_eq!(
        rejection(f.service.verify_access_live(&a.access_token).await),
        Rejection::Revoked
    );
    assert!(
        f.service.verify_access(&a.access_token).is_ok(),
        "offline check is offline"
    );
    assert_eq!(
        f.service.introspect(&a.access_token).await.unwrap(),
        Introspection::Inactive
    );
    assert!(f.service.refresh(&b.refresh_token).await.is_ok());

    let claims_c = f.service.verify_access(&c.access_token).unwrap();
    let b2 = f.login("dave", RefreshKind::ShortTerm).await;
    let dave = f.service.verify_access(&b2.access_token).unwrap();
    assert_eq!(f.service.logout(&dave, true).await.unwrap(), 2);
    assert!(f.service.refresh(&b2.refresh_token).await.is_err());
    assert!(f.service.verify_access_live(&c.access_token).await.is_ok());
    assert_eq!(claims_c.unique_name, "erin");

    assert_eq!(f.service.revoke(&c.refresh_token).await.unwrap(), 1);
    assert_eq!(
        rejection(f.service.refresh(&c.refresh_token).await),
        Rejection::Revoked
    );
}

#[tokio::test]
async fn purge_keeps_what_reuse_detection_needs() {
    let f = fixture(Config::default().with_refresh_ttl(Duration::seconds(60)));
    let first = f.login("fay", RefreshKind::ShortTerm).await;
    f.clock.advance(Duration::seconds(30));
    let _second = f.service.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(f.service.purge_expired(100).await.unwrap(), 0);
    assert_eq!(
        rejection(f.service.refresh(&first.refresh_token).await),
        Rejection::Reused,
        "the consumed token is still known before its expiry"
    );
    f.clock.advance(Duration::seconds(100));
    assert_eq!(
        f.service.purge_expired(1).await.unwrap(),
        3,
        "two tokens, one family"
    );
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> i64 {
        auth_core::Clock::now(self).unix_timestamp()
    }
}

#[tokio::test]
async fn out_of_range_lifetimes_are_config_errors_not_panics() {
    let absurd = Duration::days(100_000 * 365);
    assert!(matches!(
        Config::default().with_long_refresh_ttl(absurd).validate(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        Config::default().with_access_ttl(Duration::ZERO).validate(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        Config::default()
            .with_leeway(Duration::seconds(-1))
            .validate(),
        Err(Error::Config(_))
    ));
    Config::default().validate().unwrap();

    // Unvalidated, the service still refuses instead of panicking on overflow.
    let f = fixture(Config::default().with_long_refresh_ttl(absurd));
    assert!(matches!(
        f.service.login("zed", RefreshKind::LongTerm).await,
        Err(Error::Config(_))
    ));
    let f = fixture(Config::default().with_access_ttl(absurd));
    assert!(matches!(
        f.service.login("zed", RefreshKind::ShortTerm).await,
        Err(Error::Config(_))
    ));
}
