//! Every operation is one script call, on a standalone server and on a cluster alike
//! (`Rotation::Consumed` reads the child in a second one). Counted as the servers'
//! `EVAL`/`EVALSHA` calls on throwaway servers of this test's own, where nothing else runs.

mod common;

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId, TokenStore};
use auth_store_redis::RedisStore;
use auth_store_redis::redis;
use common::throwaway::{Throwaway, ThrowawayCluster};

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

fn family(subject: &str, at: OffsetDateTime) -> Family {
    Family {
        id: FamilyId::random(),
        subject: subject.to_owned(),
        long_term: false,
        created_at: at,
        revoked: None,
    }
}

fn must<T>(r: auth_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("the store failed: {e} ({e:?})"))
}

/// Script calls the servers at `nodes` have answered so far (successful or not).
async fn script_calls(nodes: &[String]) -> u64 {
    let mut total = 0;
    for url in nodes {
        let client = redis::Client::open(url.as_str()).unwrap_or_else(|e| panic!("{e}"));
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("INFO commandstats on {url}: {e}"));
        for line in info.lines() {
            let Some((name, stats)) = line.split_once(':') else {
                continue;
            };
            if !matches!(
                name,
                "cmdstat_eval" | "cmdstat_evalsha" | "cmdstat_eval_ro" | "cmdstat_evalsha_ro"
            ) {
                continue;
            }
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{url}: unreadable {line:?}"));
            total += calls;
        }
    }
    total
}

/// Runs every operation once to load the scripts (a server answers `NOSCRIPT` first), then
/// again, counting the script calls each one takes.
async fn every_operation_is_one_call(store: &RedisStore, nodes: &[String]) {
    // One subject: its keys, and so every script the test counts, live on one node.
    let subject = "round-trips";
    for pass in ["warm-up", "counted"] {
        let t = now();
        let later = t + Duration::minutes(1);
        let mut steps: Vec<(&str, u64, u64)> = Vec::new();

        let f = family(subject, t);
        let first = new_token(t);
        let before = script_calls(nodes).await;
        must(store.insert_family(&f, &first).await);
        steps.push(("insert_family", 1, script_calls(nodes).await - before));

        let child = new_token(later);
        let before = script_calls(nodes).await;
        let r = must(store.rotate(subject, first.id, &child, later).await);
        assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");
        steps.push(("rotate -> Rotated", 1, script_calls(nodes).await - before));

        let before = script_calls(nodes).await;
        let r = must(
            store
                .rotate(subject, first.id, &new_token(later), later)
                .await,
        );
        assert!(
            matches!(r, Rotation::Consumed { child: Some(_), .. }),
            "{r:?}"
        );
        steps.push((
            "rotate -> Consumed (then the child)",
            2,
            script_calls(nodes).await - before,
        ));

        let mut taken = new_token(later);
        taken.id = first.id;
        let before = script_calls(nodes).await;
        let r = store.rotate(subject, child.id, &taken, later).await;
        assert!(matches!(r, Err(auth_core::Error::Conflict { .. })), "{r:?}");
        steps.push(("rotate -> Conflict", 1, script_calls(nodes).await - before));

        let before = script_calls(nodes).await;
        must(store.token_status(subject, child.id).await);
        steps.push(("token_status", 1, script_calls(nodes).await - before));

        let before = script_calls(nodes).await;
        must(store.family_status(subject, f.id).await);
        steps.push(("family_status", 1, script_calls(nodes).await - before));

        let reason = RevokeReason::Logout;
        let before = script_calls(nodes).await;
        must(store.revoke_token(subject, child.id, reason, later).await);
        steps.push(("revoke_token", 1, script_calls(nodes).await - before));

        let before = script_calls(nodes).await;
        must(store.revoke_family(subject, f.id, reason, later).await);
        steps.push(("revoke_family", 1, script_calls(nodes).await - before));

        let before = script_calls(nodes).await;
        must(store.revoke_subject(subject, reason, later).await);
        steps.push(("revoke_subject", 1, script_calls(nodes).await - before));

        if pass == "counted" {
            for (what, expected, got) in steps {
                assert_eq!(got, expected, "{what}: script calls");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_operations_are_one_script_call() {
    let server = Throwaway::start();
    let store = common::connect(&server.url()).await;
    every_operation_is_one_call(&store, &[server.url()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_operations_are_one_script_call() {
    let cluster = ThrowawayCluster::start();
    let store = common::connect(&cluster.url()).await;
    every_operation_is_one_call(&store, &cluster.node_urls()).await;
}
