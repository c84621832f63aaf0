//! Requests cancelled at any point (the caller's future dropped) leave no session of ours
//! idle inside a transaction, and the pool keeps working.

mod common;

use std::sync::Arc;
use std::time::Instant;

use auth_core::time::Duration;
use auth_core::{DynTokenStore, Rotation, TokenStore};
use auth_store_testkit::fixtures::{TOKEN_TTL, epoch, login, new_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_calls_leave_no_transaction_open() {
    let schema = common::fresh_schema();
    let app = format!("authtest-cancel-{schema}");
    let options = common::options(&schema)
        .with_application_name(&app)
        .with_max_connections(4);
    let store: DynTokenStore = Arc::new(common::open(options).await);

    let (cancelled, completed) = cancel_many(store.clone()).await;
    assert!(
        cancelled > 0 && completed > 0,
        "the delays must cancel some calls and let others finish: \
         {cancelled} cancelled, {completed} completed"
    );

    // Pooled connections are cleaned up by background tasks: give them a moment.
    let url = common::url();
    let observer = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("observer connection to {url}: {e}"));
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    let stuck = loop {
        let stuck: Vec<String> = sqlx::query_scalar(
            "SELECT state || ': ' || coalesce(query, '') FROM pg_stat_activity \
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(&app)
        .fetch_all(&observer)
        .await
        .unwrap_or_else(|e| panic!("reading pg_stat_activity: {e}"));
        if stuck.is_empty() || Instant::now() > deadline {
            break stuck;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        stuck.is_empty(),
        "sessions left inside a transaction: {stuck:#?}"
    );

    still_works(&store).await;

    // Every rotation applied whole or not at all: no consumed token lacks its child.
    let orphans: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.auth_refresh_tokens t WHERE t.consumed_at IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM {schema}.auth_refresh_tokens c \
                         WHERE c.token_id = t.child_id AND c.parent_id = t.token_id)"
    )))
    .fetch_one(&observer)
    .await
    .unwrap_or_else(|e| panic!("checking rotations: {e}"));
    assert_eq!(orphans, 0, "consumed tokens without their child");
}

const LOGINS: usize = 60;

/// Rounds of [`cancel_round`] with ever longer delays, from 0.25 ms to 0.5 s, so that
/// whatever a call takes on this machine, many are cut at every stage of their work.
async fn cancel_many(store: DynTokenStore) -> (usize, usize) {
    let (mut cancelled, mut completed) = (0, 0);
    for round in 0..12 {
        let (c, d) = cancel_round(store.clone(), 250 << round).await;
        cancelled += c;
        completed += d;
    }
    (cancelled, completed)
}

/// Starts rotations, purges and logins, cancelling each after a different delay below
/// `max_micros` (some before they touch the database, some mid-statement or
/// mid-transaction, some never). Returns how many were cancelled and how many completed.
async fn cancel_round(store: DynTokenStore, max_micros: u64) -> (usize, usize) {
    let t = epoch();
    let mut live = Vec::new();
    for i in 0..LOGINS * 2 {
        // Every other login expires soon, for the purges to find.
        let ttl = if i % 2 == 0 {
            TOKEN_TTL
        } else {
            Duration::minutes(10)
        };
        let l = login("cancel", t, ttl);
        if let Err(e) = store.insert_family(&l.family, &l.first).await {
            panic!("login failed: {e:?}");
        }
        if i % 2 == 0 {
            live.push(l.first.id);
        }
    }
    let now = t + Duration::seconds(1);
    let later = t + Duration::days(1);
    let mut tasks = Vec::new();
    for (i, old) in live.into_iter().enumerate() {
        let store = store.clone();
        let budget = std::time::Duration::from_micros((i as u64 * 397) % max_micros);
        tasks.push(tokio::spawn(async move {
            let work = async {
                match i % 3 {
                    0 => store.purge_expired(later, 3).await.map(|_| ()),
                    1 => {
                        let l = login("cancel", now, TOKEN_TTL);
                        store.insert_family(&l.family, &l.first).await
                    }
                    _ => store
                        .rotate("cancel", old, &new_token(now, TOKEN_TTL), now)
                        .await
                        .map(|_| ()),
                }
            };
            tokio::time::timeout(budget, work).await
        }));
    }
    let (mut cancelled, mut completed) = (0, 0);
    for task in tasks {
        match task.await {
            Ok(Err(_elapsed)) => cancelled += 1,
            Ok(Ok(Ok(()))) => completed += 1,
            Ok(Ok(Err(e))) => panic!("a call that was not cancelled failed: {e:?}"),
            Err(e) => panic!("task failed: {e}"),
        }
    }
    (cancelled, completed)
}

/// The store still serves every kind of call after the cancellations.
async fn still_works(store: &DynTokenStore) {
    let t = epoch() + Duration::seconds(2);
    for _ in 0..10 {
        let l = login("after", t, TOKEN_TTL);
        let new = new_token(t, TOKEN_TTL);
        let outcome = async {
            store.insert_family(&l.family, &l.first).await?;
            store.rotate("after", l.first.id, &new, t).await
        }
        .await;
        assert!(
            matches!(outcome, Ok(Rotation::Rotated { .. })),
            "after cancellations: {outcome:?}"
        );
    }
    if let Err(e) = store.purge_expired(t + Duration::days(1), 1000).await {
        panic!("purge after cancellations: {e:?}");
    }
}
