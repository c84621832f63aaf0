//! Two separate pools, as two processes would have, rotate the same tokens concurrently.
//! Each store has its own in-process write queue, so the two meet only at SQLite's file
//! lock, exactly as two processes would.

mod common;

use std::sync::Arc;

use auth_core::DynTokenStore;
use auth_store_sqlite::SqliteStore;
use auth_store_testkit::check_cross_instance_race;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_have_one_winner_per_token() {
    let first = common::temp_store().await;
    let second = match SqliteStore::connect(&first.url()).await {
        Ok(store) => store,
        Err(e) => panic!("second pool on {}: {e:?}", first.url()),
    };
    let a: DynTokenStore = Arc::new(first);
    check_cross_instance_race(a, Arc::new(second)).await;
}
