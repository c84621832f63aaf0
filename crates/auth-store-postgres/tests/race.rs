//! Two separate pools, as two processes would have, rotate the same tokens concurrently.

mod common;

use std::sync::Arc;

use auth_store_testkit::check_cross_instance_race;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_have_one_winner_per_token() {
    let schema = common::fresh_schema();
    let a = common::open(common::options(&schema)).await;
    let b = common::open(common::options(&schema)).await;
    check_cross_instance_race(Arc::new(a), Arc::new(b)).await;
}
