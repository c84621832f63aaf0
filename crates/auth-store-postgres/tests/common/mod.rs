//! A fresh PostgreSQL store per call: its own schema in the test database.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{DynTokenStore, TokenId};
use auth_store_postgres::{PostgresStore, PostgresStoreOptions};
use sqlx::Row;
use tokio::sync::OnceCell;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA_PREFIX: &str = "authtest_";

pub fn url() -> String {
    std::env::var("AUTH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn unreachable(url: &str, e: &dyn std::fmt::Debug) -> ! {
    panic!(
        "PostgreSQL is not reachable at {url} (AUTH_TEST_POSTGRES_URL): {e:?}\n\
         Run the tests through scripts/test.sh, which starts PostgreSQL when it is missing, \
         or point AUTH_TEST_POSTGRES_URL at a server you started."
    )
}

/// A schema name nobody else uses; it carries its creation time so later runs can drop
/// what earlier runs left behind.
pub fn fresh_schema() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let random = TokenId::random().as_uuid().simple().to_string();
    format!("{SCHEMA_PREFIX}{secs}_{}", &random[..12])
}

/// Drops the test schemas older than an hour, once per test process.
async fn sweep_old_schemas() {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let url = url();
            let pool = match sqlx::PgPool::connect(&url).await {
                Ok(pool) => pool,
                Err(e) => unreachable(&url, &e),
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let rows =
                sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'authtest\\_%'")
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
            for row in rows {
                let Ok(name) = row.try_get::<String, _>(0) else {
                    continue;
                };
                let created = name
                    .trim_start_matches(SCHEMA_PREFIX)
                    .split('_')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok());
                let is_ours = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if is_ours && created.is_some_and(|c| c + 3600 < now) {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&pool)
                    .await;
                }
            }
            pool.close().await;
        })
        .await;
}

pub fn options(schema: &str) -> PostgresStoreOptions {
    PostgresStoreOptions::new()
        .with_schema(schema)
        .with_max_connections(6)
        .with_acquire_timeout(Duration::from_secs(10))
}

pub async fn open(options: PostgresStoreOptions) -> PostgresStore {
    sweep_old_schemas().await;
    let url = url();
    match options.connect(&url).await {
        Ok(store) => store,
        Err(e) => unreachable(&url, &e),
    }
}

pub async fn postgres_store() -> PostgresStore {
    open(options(&fresh_schema())).await
}

pub async fn store() -> DynTokenStore {
    Arc::new(postgres_store().await)
}
