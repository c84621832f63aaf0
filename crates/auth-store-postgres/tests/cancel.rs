//! Requests cancelled at any point (the caller's future dropped) leave no session of ours
//! idle inside a transaction, and the pool keeps working.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::DynTokenStore;
use auth_store_testkit::check_cancelled_calls_leave_store_whole;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_calls_leave_no_transaction_open() {
    let schema = common::fresh_schema();
    let app = format!("authtest-cancel-{schema}");
    let options = common::options(&schema)
        .with_application_name(&app)
        .with_max_connections(4);
    let store: DynTokenStore = Arc::new(common::open(options).await);
    check_cancelled_calls_leave_store_whole(store, no_session_in_transaction(&app)).await;
}

/// No session named `app` sits idle inside a transaction (which would hold its row locks
/// until the connection is reused or closed).
async fn no_session_in_transaction(app: &str) {
    let url = common::url();
    let observer = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("observer connection to {url}: {e}"));
    // Pooled connections are cleaned up by background tasks: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let stuck = loop {
        let stuck: Vec<String> = sqlx::query_scalar(
            "SELECT state || ': ' || coalesce(query, '') FROM pg_stat_activity \
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(app)
        .fetch_all(&observer)
        .await
        .unwrap_or_else(|e| panic!("reading pg_stat_activity: {e}"));
        if stuck.is_empty() || Instant::now() > deadline {
            break stuck;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        stuck.is_empty(),
        "sessions left inside a transaction: {stuck:#?}"
    );
}
