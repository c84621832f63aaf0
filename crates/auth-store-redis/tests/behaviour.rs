//! Redis-specific behaviour, on the standalone server and on the cluster: the same
//! operations give MemoryStore's outcomes, concurrent clients race fairly, and any user
//! name works as a subject.

mod common;

use std::sync::Arc;

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{
    DynTokenStore, Error, Family, FamilyId, MemoryStore, NewToken, RevokeReason, Rotation, TokenId,
    TokenStore,
};

/// Seconds-aligned times anchored at the wall clock: records get real TTLs from them.
fn epoch() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - Duration::nanoseconds(i64::from(now.nanosecond())) + Duration::microseconds(250_001)
}

fn family(subject: &str, at: OffsetDateTime, long_term: bool) -> Family {
    Family {
        id: FamilyId::random(),
        subject: subject.to_owned(),
        long_term,
        created_at: at,
        revoked: None,
    }
}

fn token(at: OffsetDateTime, ttl: Duration) -> NewToken {
    let issued_at = at - Duration::nanoseconds(i64::from(at.nanosecond()));
    NewToken {
        id: TokenId::random(),
        issued_at,
        expires_at: issued_at + ttl,
    }
}

/// An outcome as text, so two stores' runs compare line by line; `Conflict` is an outcome,
/// any other error fails the test.
fn show<T: std::fmt::Debug>(step: &str, result: auth_core::Result<T>) -> String {
    match result {
        Ok(v) => format!("{step}: {v:?}"),
        Err(Error::Conflict { .. }) => format!("{step}: Conflict"),
        Err(e) => panic!("{step}: the store failed: {e} ({e:?})"),
    }
}

/// One run through every operation and outcome, with `subject` as the main user.
async fn lifecycle(store: &dyn TokenStore, subject: &str, ids: &Ids) -> Vec<String> {
    let t = ids.t;
    let (a, b, c, d) = (
        &ids.families[0],
        &ids.families[1],
        &ids.families[2],
        &ids.families[3],
    );
    let (ta, tb, tc, td) = (ids.tokens[0], ids.tokens[1], ids.tokens[2], ids.tokens[3]);
    let (ta2, ta3, tb2, td2) = (ids.tokens[4], ids.tokens[5], ids.tokens[6], ids.tokens[7]);
    let unused = ids.tokens[8];
    let later = t + Duration::minutes(20);
    let mut out = vec![
        show("insert a", store.insert_family(a, &ta).await),
        show("insert b", store.insert_family(b, &tb).await),
        show("insert c (other user)", store.insert_family(c, &tc).await),
        show("insert a again", store.insert_family(a, &unused).await),
        show("insert token id again", store.insert_family(d, &ta).await),
        show("rotate a", store.rotate(subject, ta.id, &ta2, later).await),
        show(
            "rotate a again",
            store.rotate(subject, ta.id, &ta3, later).await,
        ),
        show(
            "rotate as other user",
            store.rotate("mallory", ta2.id, &ta3, later).await,
        ),
        show(
            "rotate unknown",
            store.rotate(subject, ta3.id, &ta3, later).await,
        ),
        show(
            "rotate into existing id",
            store.rotate(subject, ta2.id, &tb, later).await,
        ),
        show("token a", store.token_status(subject, ta.id).await),
        show("token a2", store.token_status(subject, ta2.id).await),
        show(
            "token a2 other user",
            store.token_status("mallory", ta2.id).await,
        ),
        show("family a", store.family_status(subject, a.id).await),
        show(
            "family a other user",
            store.family_status("mallory", a.id).await,
        ),
        show(
            "rotate b expired",
            store.rotate(subject, tb.id, &tb2, tb.expires_at).await,
        ),
    ];
    let reason = RevokeReason::Logout;
    out.extend([
        show(
            "revoke a2",
            store.revoke_token(subject, ta2.id, reason, later).await,
        ),
        show(
            "revoke a2 again",
            store
                .revoke_token(subject, ta2.id, RevokeReason::Reuse, later)
                .await,
        ),
        show(
            "revoke unknown token",
            store.revoke_token(subject, ta3.id, reason, later).await,
        ),
        show(
            "rotate a2 revoked",
            store.rotate(subject, ta2.id, &ta3, later).await,
        ),
        show(
            "rotate a revoked",
            store.rotate(subject, ta.id, &ta3, later).await,
        ),
        show(
            "revoke family a",
            store.revoke_family(subject, a.id, reason, later).await,
        ),
        show(
            "revoke family c wrong user",
            store.revoke_family(subject, c.id, reason, later).await,
        ),
        show(
            "revoke subject",
            store
                .revoke_subject(subject, RevokeReason::Revoked, later)
                .await,
        ),
        show(
            "revoke subject again",
            store.revoke_subject(subject, reason, later).await,
        ),
        show("family b", store.family_status(subject, b.id).await),
        show(
            "token c untouched",
            store.token_status(&ids.other, tc.id).await,
        ),
        show(
            "login after revoke_subject",
            store.insert_family(d, &td).await,
        ),
        show(
            "rotate new login",
            store.rotate(subject, td.id, &td2, later).await,
        ),
        show(
            "revoke other user",
            store.revoke_subject(&ids.other, reason, later).await,
        ),
        show(
            "revoke nobody",
            store.revoke_subject("nobody", reason, later).await,
        ),
    ]);
    out
}

struct Ids {
    t: OffsetDateTime,
    /// A second user, distinct for every main subject.
    other: String,
    families: Vec<Family>,
    tokens: Vec<NewToken>,
}

impl Ids {
    fn new(subject: &str) -> Self {
        let t = epoch();
        let other = format!("{subject}~carol");
        Ids {
            t,
            families: vec![
                family(subject, t, false),
                family(subject, t, true),
                family(&other, t, false),
                family(subject, t + Duration::minutes(30), true),
            ],
            tokens: vec![
                token(t, Duration::hours(1)),
                token(t, Duration::minutes(15)),
                token(t, Duration::hours(1)),
                token(t + Duration::minutes(30), Duration::hours(1)),
                token(t + Duration::minutes(20), Duration::hours(2)),
                token(t + Duration::minutes(20), Duration::hours(2)),
                token(t + Duration::minutes(20), Duration::hours(2)),
                token(t + Duration::minutes(20), Duration::hours(2)),
                token(t, Duration::hours(1)),
            ],
            other,
        }
    }
}

async fn same_outcomes_as_memory(store: DynTokenStore, subject: &str) {
    let ids = Ids::new(subject);
    let expected = lifecycle(&MemoryStore::new(), subject, &ids).await;
    let got = lifecycle(&*store, subject, &ids).await;
    for (e, g) in expected.iter().zip(&got) {
        assert_eq!(g, e);
    }
    assert_eq!(got.len(), expected.len());
}

/// Two independent clients (own connections, as two authd processes would have) race on the
/// same tokens: the testkit's cross-instance check.
async fn two_clients_race(url: String) {
    let prefix = common::random_prefix();
    let one = Arc::new(common::connect(&url).await.with_key_prefix(&prefix));
    let two = Arc::new(common::connect(&url).await.with_key_prefix(&prefix));
    auth_store_testkit::check_cross_instance_race(one, two).await;
}

/// A subject full of characters that mean something to Redis or to the key layout.
async fn any_user_name_works(store: DynTokenStore) {
    for subject in [
        "{alice}",
        "}{",
        "a:b:{c}",
        "Zoë 名前 🙂 {x}:y",
        "",
        "{}",
        "\u{0}\n",
    ] {
        same_outcomes_as_memory(store.clone(), subject).await;
    }
}

/// Ids are unique per subject only: the same family and token ids under two subjects are
/// two separate records, and what happens to one never shows in the other.
async fn ids_of_other_subjects_are_separate(store: DynTokenStore) {
    let t = epoch();
    let later = t + Duration::minutes(1);
    let alice = family("alice", t, false);
    let first = token(t, Duration::hours(1));
    must(store.insert_family(&alice, &first).await);
    let mut bob = family("bob", t, true);
    bob.id = alice.id;
    let bobs_first = NewToken {
        expires_at: first.expires_at + Duration::minutes(5),
        ..first
    };
    must(store.insert_family(&bob, &bobs_first).await);

    // bob rotates into an id alice will rotate into too; each finds only their own.
    let child = token(later, Duration::hours(1));
    let r = must(store.rotate("bob", first.id, &child, later).await);
    assert_eq!(
        r,
        Rotation::Rotated {
            family: bob.clone()
        }
    );
    let r = must(store.rotate("alice", first.id, &child, later).await);
    assert_eq!(
        r,
        Rotation::Rotated {
            family: alice.clone()
        }
    );
    let alices = must(store.token_status("alice", child.id).await);
    assert_eq!(alices.map(|s| s.family), Some(alice.clone()));

    assert_eq!(
        must(
            store
                .revoke_family("alice", alice.id, RevokeReason::Logout, later)
                .await
        ),
        1
    );
    assert_eq!(
        must(store.family_status("bob", bob.id).await),
        Some(bob.clone())
    );
    let bobs = must(store.token_status("bob", first.id).await);
    assert_eq!(
        bobs.map(|s| (s.token.expires_at, s.token.child, s.family)),
        Some((bobs_first.expires_at, Some(child.id), bob))
    );
}

/// A login drops the families of its subject that can no longer matter (their last token
/// expired, by Redis' clock), so a subject's records do not grow with every login.
async fn dead_families_are_dropped_at_login(url: String) {
    let store = common::connect(&url)
        .await
        .with_key_prefix(&common::random_prefix())
        .with_retention(Duration::ZERO);
    let t = epoch();
    let short = family("dora", t, false);
    let first = token(t, Duration::seconds(1));
    must(store.insert_family(&short, &first).await);
    let kept = family("dora", t, true);
    must(
        store
            .insert_family(&kept, &token(t, Duration::hours(1)))
            .await,
    );
    assert!(must(store.family_status("dora", short.id).await).is_some());

    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_eq!(must(store.token_status("dora", first.id).await), None);
    assert!(must(store.family_status("dora", short.id).await).is_some());
    must(
        store
            .insert_family(&family("dora", t, false), &token(t, Duration::hours(1)))
            .await,
    );
    assert_eq!(must(store.family_status("dora", short.id).await), None);
    assert_eq!(must(store.family_status("dora", kept.id).await), Some(kept));
}

/// Records that do not decode are `Corrupt`, and a rotation that meets one changes nothing.
async fn unreadable_records_are_corrupt(url: String) {
    let prefix = common::random_prefix();
    let store = common::connect(&url).await.with_key_prefix(&prefix);
    let mut raw = raw_connection(&url).await;
    let t = epoch();
    let zed = family("zed", t, false);
    let first = token(t, Duration::hours(1));
    must(store.insert_family(&zed, &first).await);
    let key = |suffix: &str| format!("{prefix}{{u{}}}:{suffix}", b64("zed"));
    let later = t + Duration::minutes(1);

    hset(&mut raw, &key(&format!("t:{}", first.id)), "e", "soon").await;
    let r = store
        .rotate("zed", first.id, &token(later, Duration::hours(1)), later)
        .await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
    let r = store.token_status("zed", first.id).await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");

    let expires = micros_text(first.expires_at);
    hset(&mut raw, &key(&format!("t:{}", first.id)), "e", &expires).await;
    hset(&mut raw, &key("s"), &format!("f:{}", zed.id), "maybe").await;
    let r = store
        .rotate("zed", first.id, &token(later, Duration::hours(1)), later)
        .await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
    let r = store.family_status("zed", zed.id).await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");

    hset(
        &mut raw,
        &key("s"),
        &format!("f:{}", zed.id),
        &format!("0:{}", micros_text(t)),
    )
    .await;
    let state = must(store.token_status("zed", first.id).await);
    assert_eq!(
        state.map(|s| s.token.consumed_at),
        Some(None),
        "nothing was consumed"
    );
}

fn micros_text(t: OffsetDateTime) -> String {
    (t.unix_timestamp_nanos() / 1_000).to_string()
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

async fn raw_connection(url: &str) -> RawConnection {
    use auth_store_redis::redis;
    match url.strip_prefix("redis-cluster://") {
        Some(nodes) => {
            let nodes: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
            let client =
                redis::cluster::ClusterClient::new(nodes).unwrap_or_else(|e| panic!("{e}"));
            RawConnection::Cluster(
                client
                    .get_async_connection()
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        }
        None => {
            let client = redis::Client::open(url).unwrap_or_else(|e| panic!("{e}"));
            RawConnection::Standalone(
                client
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        }
    }
}

enum RawConnection {
    Standalone(auth_store_redis::redis::aio::MultiplexedConnection),
    Cluster(auth_store_redis::redis::cluster_async::ClusterConnection),
}

async fn hset(raw: &mut RawConnection, key: &str, field: &str, value: &str) {
    use auth_store_redis::redis::AsyncCommands;
    let r: auth_store_redis::redis::RedisResult<i64> = match raw {
        RawConnection::Standalone(c) => c.hset(key, field, value).await,
        RawConnection::Cluster(c) => c.hset(key, field, value).await,
    };
    r.unwrap_or_else(|e| panic!("HSET {key}: {e}"));
}

fn must<T>(r: auth_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("the store failed: {e} ({e:?})"))
}

macro_rules! on {
    ($backend:ident, $url:path) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread")]
            async fn same_outcomes_as_memory_store() {
                same_outcomes_as_memory(common::$backend().await, "alice").await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn two_clients_race_one_winner_per_token() {
                two_clients_race($url()).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn a_login_drops_dead_families() {
                dead_families_are_dropped_at_login($url()).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn unreadable_records_are_corrupt_and_change_nothing() {
                unreadable_records_are_corrupt($url()).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn ids_of_other_subjects_are_separate_records() {
                ids_of_other_subjects_are_separate(common::$backend().await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn user_names_with_braces_colons_and_non_ascii() {
                any_user_name_works(common::$backend().await).await;
            }
        }
    };
}

on!(standalone, common::standalone_url);
on!(cluster, common::cluster_url);
