//! Lost data and lost servers: a Redis that forgot everything rejects every old token, a
//! stopped one is `Unavailable` within the timeouts, and the same store works again once
//! it is back. These tests run their own throwaway `redis-server` on a free port, so they
//! can flush and stop it without touching anyone else's data.

mod common;

use std::time::{Duration as StdDuration, Instant};

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{Error, Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId, TokenStore};
use auth_store_redis::redis::{self, AsyncCommands};
use auth_store_redis::{ConnectOptions, EvictionPolicyCheck, RedisStore};
use common::throwaway::{Throwaway, ThrowawayCluster};

fn quick() -> ConnectOptions {
    ConnectOptions::new()
        .connect_timeout(StdDuration::from_millis(500))
        .response_timeout(StdDuration::from_millis(500))
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t - Duration::nanoseconds(i64::from(t.nanosecond()))
}

fn new_token(at: OffsetDateTime) -> NewToken {
    NewToken {
        id: TokenId::random(),
        issued_at: at,
        expires_at: at + Duration::hours(1),
    }
}

/// Logs `subject` in; returns the family id and the first token id.
async fn login(store: &RedisStore, subject: &str, at: OffsetDateTime) -> (FamilyId, TokenId) {
    let family = Family {
        id: FamilyId::random(),
        subject: subject.to_owned(),
        long_term: false,
        created_at: at,
        revoked: None,
    };
    let first = new_token(at);
    must(store.insert_family(&family, &first).await);
    (family.id, first.id)
}

fn must<T>(r: auth_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("the store failed: {e} ({e:?})"))
}

/// Tokens in every state: live, consumed (with a live child), of a revoked family.
async fn populate(store: &RedisStore, at: OffsetDateTime) -> Vec<(String, FamilyId, TokenId)> {
    let mut all = Vec::new();
    for i in 0..10 {
        let subject = format!("user-{i}");
        let (family, first) = login(store, &subject, at).await;
        all.push((subject.clone(), family, first));
        if i % 3 == 1 {
            let child = new_token(at);
            let r = must(store.rotate(&subject, first, &child, at).await);
            assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");
            all.push((subject.clone(), family, child.id));
        }
        if i % 3 == 2 {
            must(
                store
                    .revoke_family(&subject, family, RevokeReason::Logout, at)
                    .await,
            );
        }
    }
    all
}

async fn assert_all_forgotten(store: &RedisStore, tokens: &[(String, FamilyId, TokenId)]) {
    let at = now();
    for (subject, family, id) in tokens {
        let r = must(store.rotate(subject, *id, &new_token(at), at).await);
        assert_eq!(r, Rotation::NotFound, "{subject} {id}");
        assert_eq!(must(store.token_status(subject, *id).await), None);
        assert_eq!(must(store.family_status(subject, *family).await), None);
        let n = must(
            store
                .revoke_token(subject, *id, RevokeReason::Revoked, at)
                .await,
        );
        assert_eq!(n, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_flushall_every_old_token_is_rejected() {
    let server = Throwaway::start();
    let store = common::connect_with(&server.url(), quick()).await;
    let tokens = populate(&store, now()).await;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut server.raw().await)
        .await
        .unwrap_or_else(|e| panic!("FLUSHALL: {e}"));
    assert_all_forgotten(&store, &tokens).await;
}

/// The family records alone are lost (as an eviction could do): the token records are
/// still there, but none of them is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_its_family_is_rejected() {
    let server = Throwaway::start();
    let store = common::connect_with(&server.url(), quick()).await;
    let tokens = populate(&store, now()).await;
    let mut raw = server.raw().await;
    let subject_keys: Vec<String> = raw
        .keys("auth:*:s")
        .await
        .unwrap_or_else(|e| panic!("KEYS: {e}"));
    assert_eq!(subject_keys.len(), 10, "{subject_keys:?}");
    let token_keys: Vec<String> = raw
        .keys("auth:*:t:*")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token_keys.len(), tokens.len());
    let _: () = raw
        .del(&subject_keys)
        .await
        .unwrap_or_else(|e| panic!("DEL: {e}"));
    assert_all_forgotten(&store, &tokens).await;
    let left: Vec<String> = raw
        .keys("auth:*:t:*")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        left.len(),
        tokens.len(),
        "the token records are still there"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_is_unavailable_and_the_same_store_recovers() {
    let mut server = Throwaway::start();
    let store = common::connect_with(&server.url(), quick()).await;
    let at = now();
    let (_, old) = login(&store, "alice", at).await;

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let r = store.rotate("alice", old, &new_token(at), at).await;
        assert!(
            matches!(
                r,
                Err(Error::Unavailable {
                    backend: "redis",
                    ..
                })
            ),
            "a stopped server must be Unavailable, got {r:?}"
        );
        assert!(
            started.elapsed() < StdDuration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let r = store.token_status("alice", old).await;
        assert!(matches!(r, Err(e) if e.is_retryable()));
    }

    // Back, empty (no persistence): the same store reconnects and loads its scripts again
    // (the new server answers NOSCRIPT), and the old session is gone, not accepted.
    server.restart();
    let deadline = Instant::now() + StdDuration::from_secs(15);
    let (family, first) = loop {
        let family = Family {
            id: FamilyId::random(),
            subject: "alice".into(),
            long_term: true,
            created_at: at,
            revoked: None,
        };
        let first = new_token(at);
        match store.insert_family(&family, &first).await {
            Ok(()) => break (family, first),
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tokio::time::sleep(StdDuration::from_millis(100)).await
            }
            Err(e) => panic!("the store did not recover: {e} ({e:?})"),
        }
    };
    let r = must(store.rotate("alice", first.id, &new_token(at), at).await);
    assert_eq!(r, Rotation::Rotated { family });
    let r = must(store.rotate("alice", old, &new_token(at), at).await);
    assert_eq!(r, Rotation::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_cluster_is_unavailable_and_the_same_store_recovers() {
    let mut cluster = ThrowawayCluster::start();
    let store = common::connect_with(&cluster.url(), quick()).await;
    let at = now();
    let subjects: Vec<String> = (0..8).map(|i| format!("user-{i}")).collect();
    let mut old = Vec::new();
    for s in &subjects {
        old.push(login(&store, s, at).await.1);
    }

    cluster.stop();
    let started = Instant::now();
    let r = store.rotate(&subjects[0], old[0], &new_token(at), at).await;
    assert!(matches!(r, Err(Error::Unavailable { .. })), "{r:?}");
    assert!(
        started.elapsed() < StdDuration::from_secs(5),
        "Unavailable took {:?}",
        started.elapsed()
    );

    cluster.launch();
    cluster.wait_ok();
    let deadline = Instant::now() + StdDuration::from_secs(30);
    for s in &subjects {
        // Every node (each subject's slot) answers again through the same store.
        let (family, first) = loop {
            let family = Family {
                id: FamilyId::random(),
                subject: s.clone(),
                long_term: false,
                created_at: at,
                revoked: None,
            };
            let first = new_token(at);
            match store.insert_family(&family, &first).await {
                Ok(()) => break (family, first),
                Err(e) if e.is_retryable() && Instant::now() < deadline => {
                    tokio::time::sleep(StdDuration::from_millis(200)).await
                }
                Err(e) => panic!("the cluster store did not recover: {e} ({e:?})"),
            }
        };
        let r = must(store.rotate(s, first.id, &new_token(at), at).await);
        assert_eq!(r, Rotation::Rotated { family });
    }
    for (s, id) in subjects.iter().zip(&old) {
        let r = must(store.rotate(s, *id, &new_token(at), at).await);
        assert_eq!(
            r,
            Rotation::NotFound,
            "an emptied cluster forgets, it does not accept"
        );
    }
}

/// A frozen server (SIGSTOP) keeps its connections open and never answers: the response
/// timeout turns that into `Unavailable`, and the store answers again once it thaws.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_server_times_out_as_unavailable() {
    let server = Throwaway::start();
    let store = common::connect_with(&server.url(), quick()).await;
    let at = now();
    let (family, first) = login(&store, "alice", at).await;
    server.signal("STOP");
    let started = Instant::now();
    let r = store.family_status("alice", family).await;
    let waited = started.elapsed();
    server.signal("CONT");
    assert!(matches!(r, Err(Error::Unavailable { .. })), "{r:?}");
    assert!(
        waited < StdDuration::from_secs(2),
        "waited {waited:?} with 500 ms timeouts"
    );
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        match store.token_status("alice", first).await {
            Ok(state) => {
                assert!(state.is_some_and(|s| s.is_live(at)));
                break;
            }
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tokio::time::sleep(StdDuration::from_millis(100)).await
            }
            Err(e) => panic!("the store did not recover: {e} ({e:?})"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evicting_memory_policy_is_refused_when_asked() {
    let server = Throwaway::start();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "volatile-lru"])
        .query_async(&mut server.raw().await)
        .await
        .unwrap_or_else(|e| panic!("CONFIG SET: {e}"));
    let refused = RedisStore::connect_with(
        &server.url(),
        quick().eviction_policy(EvictionPolicyCheck::Refuse),
    )
    .await;
    match refused {
        Err(e @ Error::Backend { .. }) => {
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            assert!(cause.is_some_and(|c| c.contains("volatile-lru")), "{e:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let warned = RedisStore::connect_with(&server.url(), quick()).await;
    assert!(warned.is_ok(), "Warn connects anyway: {warned:?}");

    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "noeviction"])
        .query_async(&mut server.raw().await)
        .await
        .unwrap_or_else(|e| panic!("CONFIG SET: {e}"));
    let accepted = RedisStore::connect_with(
        &server.url(),
        quick().eviction_policy(EvictionPolicyCheck::Refuse),
    )
    .await;
    assert!(accepted.is_ok(), "noeviction is accepted: {accepted:?}");
}
