//! Connections for the integration tests. The servers are always there (scripts/test.sh
//! starts them); an unreachable one fails the test with instructions, it never skips it.
#![allow(dead_code, unreachable_pub)]

pub mod throwaway;

use std::sync::Arc;

use auth_core::{DynTokenStore, TokenId};
use auth_store_redis::{ConnectOptions, RedisStore};

pub const HOW_TO_START: &str = "start the test servers with `scripts/test.sh`, or \
     `source scripts/services/redis.sh` before `cargo test` (it starts a standalone Redis \
     and a 3-master cluster on 127.0.0.1:7101-7103 and exports their URLs)";

pub fn standalone_url() -> String {
    std::env::var("AUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn cluster_url() -> String {
    std::env::var("AUTH_TEST_REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103".into())
}

/// A fresh key prefix: every store the tests build sees only its own keys.
pub fn random_prefix() -> String {
    format!("test:{}:", TokenId::random())
}

pub async fn connect_with(url: &str, options: ConnectOptions) -> RedisStore {
    match RedisStore::connect_with(url, options).await {
        Ok(store) => store,
        Err(e) => panic!("cannot connect to Redis at {url}: {e} ({e:?}); {HOW_TO_START}"),
    }
}

pub async fn connect(url: &str) -> RedisStore {
    connect_with(url, ConnectOptions::new()).await
}

/// An isolated store on the standalone server.
pub async fn standalone() -> DynTokenStore {
    Arc::new(
        connect(&standalone_url())
            .await
            .with_key_prefix(&random_prefix()),
    )
}

/// An isolated store on the cluster.
pub async fn cluster() -> DynTokenStore {
    Arc::new(
        connect(&cluster_url())
            .await
            .with_key_prefix(&random_prefix()),
    )
}
