//! Requests cancelled at any point (the caller's future dropped) leave no connection
//! inside a transaction (which would hold the database's write lock), and the pool keeps
//! working.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::DynTokenStore;
use auth_store_testkit::check_cancelled_calls_leave_store_whole;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_calls_leave_no_transaction_open() {
    let temp = common::temp_store().await;
    let url = temp.url();
    let store: DynTokenStore = Arc::new(temp);
    check_cancelled_calls_leave_store_whole(store, write_lock_is_free(&url)).await;
}

/// Another connection, as another process would open, gets the write lock: a pooled
/// connection left inside BEGIN IMMEDIATE would hold it forever.
async fn write_lock_is_free(url: &str) {
    let options: SqliteConnectOptions = url
        .parse::<SqliteConnectOptions>()
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .busy_timeout(Duration::from_secs(3));
    let mut other = SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    if let Err(e) = sqlx::raw_sql("BEGIN IMMEDIATE; ROLLBACK")
        .execute(&mut other)
        .await
    {
        panic!("the write lock is still held after the cancellations: {e}");
    }
}
