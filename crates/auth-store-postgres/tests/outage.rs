//! An unreachable or shut-down database is `Unavailable` (retryable), never "not found".

mod common;

use std::time::Duration;

use auth_core::{Error, TokenId, TokenStore};
use auth_store_postgres::PostgresStoreOptions;
use auth_store_testkit::fixtures::{TOKEN_TTL, epoch, new_token};

#[tokio::test(flavor = "multi_thread")]
async fn refused_connection_is_unavailable() {
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let outcome = PostgresStoreOptions::new()
        .with_acquire_timeout(Duration::from_millis(500))
        .connect("postgres://postgres@127.0.0.1:1/test")
        .await;
    assert!(
        matches!(outcome, Err(Error::Unavailable { .. })),
        "connecting to a closed port: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_pool_is_unavailable_not_not_found() {
    let store = common::postgres_store().await;
    store.pool().close().await;
    let t = epoch();
    let rotated = store
        .rotate("alice", TokenId::random(), &new_token(t, TOKEN_TTL), t)
        .await;
    assert!(
        matches!(rotated, Err(Error::Unavailable { .. })),
        "rotate on a closed pool: {rotated:?}"
    );
    let status = store.token_status("alice", TokenId::random()).await;
    assert!(
        matches!(status, Err(Error::Unavailable { .. })),
        "status on a closed pool: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_schema_name_is_refused() {
    let outcome = PostgresStoreOptions::new()
        .with_schema("x; DROP TABLE y")
        .connect(&common::url())
        .await;
    assert!(
        matches!(outcome, Err(Error::Backend { .. })),
        "an unquotable schema name: {outcome:?}"
    );
}
