#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

use std::sync::Arc;

pub use auth_core::*;

#[cfg(feature = "postgres")]
pub use auth_store_postgres as postgres;
#[cfg(feature = "redis")]
pub use auth_store_redis as redis;
#[cfg(feature = "sqlite")]
pub use auth_store_sqlite as sqlite;

/// Opens the token store named by `url`, running schema migrations where the backend has
/// them.
///
/// # Errors
/// [`Error::Config`] for an unparsable URL, an unknown scheme, or a scheme whose cargo
/// feature is not compiled in (the message names the feature); otherwise what the
/// backend's `connect` returns ([`Error::Unavailable`] when the server cannot be reached).
pub async fn connect(url: &str) -> Result<DynTokenStore> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .ok_or_else(|| Error::Config("a store URL looks like scheme://…".to_owned()))?;
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        "sqlite" => backend_sqlite(url).await,
        "postgres" | "postgresql" => backend_postgres(url).await,
        "redis" | "rediss" | "redis-cluster" => backend_redis(url).await,
        other => Err(Error::Config(format!(
            "unknown store scheme {other:?}: expected sqlite, postgres, redis, redis-cluster or memory"
        ))),
    }
}

#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "redis")))]
fn feature_off(feature: &str) -> Error {
    Error::Config(format!(
        "this build has no {feature} store: enable the cargo feature `{feature}`"
    ))
}

#[cfg(feature = "sqlite")]
async fn backend_sqlite(url: &str) -> Result<DynTokenStore> {
    Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
}
#[cfg(not(feature = "sqlite"))]
async fn backend_sqlite(_: &str) -> Result<DynTokenStore> {
    Err(feature_off("sqlite"))
}

#[cfg(feature = "postgres")]
async fn backend_postgres(url: &str) -> Result<DynTokenStore> {
    Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
}
#[cfg(not(feature = "postgres"))]
async fn backend_postgres(_: &str) -> Result<DynTokenStore> {
    Err(feature_off("postgres"))
}

#[cfg(feature = "redis")]
async fn backend_redis(url: &str) -> Result<DynTokenStore> {
    Ok(Arc::new(redis::RedisStore::connect(url).await?))
}
#[cfg(not(feature = "redis"))]
async fn backend_redis(_: &str) -> Result<DynTokenStore> {
    Err(feature_off("redis"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_and_malformed_urls_are_config_errors() {
        for url in ["mysql://x", "no-scheme", ""] {
            assert!(matches!(connect(url).await, Err(Error::Config(_))), "{url}");
        }
    }

    #[tokio::test]
    async fn memory_scheme_needs_no_feature() {
        assert!(connect("memory://").await.is_ok());
    }
}
