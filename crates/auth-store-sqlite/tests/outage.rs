//! A database that cannot be opened or a closed pool is `Unavailable` (retryable), never
//! "not found".

mod common;

use auth_core::{Error, TokenId, TokenStore};
use auth_store_sqlite::SqliteStore;
use auth_store_testkit::fixtures::{TOKEN_TTL, epoch, new_token};

#[tokio::test(flavor = "multi_thread")]
async fn unopenable_file_is_unavailable() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
    // The folder the file should live in does not exist, so SQLite cannot create it.
    let url = format!(
        "sqlite://{}",
        dir.path().join("missing/tokens.db").display()
    );
    let outcome = SqliteStore::connect(&url).await;
    assert!(
        matches!(outcome, Err(Error::Unavailable { .. })),
        "opening {url}: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_pool_is_unavailable_not_not_found() {
    let temp = common::temp_store().await;
    temp.store.pool().close().await;
    let t = epoch();
    let rotated = temp
        .store
        .rotate("alice", TokenId::random(), &new_token(t, TOKEN_TTL), t)
        .await;
    assert!(
        matches!(rotated, Err(Error::Unavailable { .. })),
        "rotate on a closed pool: {rotated:?}"
    );
    let status = temp.store.token_status("alice", TokenId::random()).await;
    assert!(
        matches!(status, Err(Error::Unavailable { .. })),
        "status on a closed pool: {status:?}"
    );
}
