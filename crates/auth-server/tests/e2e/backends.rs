//! One copy of the suite per backend compiled in. The services are expected to be up
//! (`scripts/test.sh` starts them); an unreachable one fails the test, never skips it.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Stamps one test per scenario for a backend; `$store` is an async fn returning a
/// `StoreUnderTest`.
macro_rules! backend_suite {
    ($backend:ident, $store:path) => {
        mod $backend {
            use crate::suite;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn token_lifecycle() {
                let store = $store().await;
                suite::token_lifecycle(&store.url).await;
                store.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refreshes() {
                let store = $store().await;
                suite::concurrent_refreshes(&store.url).await;
                store.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn restart_and_key_rotation() {
                let store = $store().await;
                suite::restart_and_key_rotation(&store.url).await;
                store.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn expiry() {
                let store = $store().await;
                suite::expiry(&store.url).await;
                store.cleanup().await;
            }
        }
    };
}

/// A store URL for one test, and what to remove afterwards.
pub struct StoreUnderTest {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    drop_db: Option<(String, String)>,
}

impl StoreUnderTest {
    pub async fn cleanup(self) {
        #[cfg(feature = "postgres")]
        if let Some((admin, db)) = &self.drop_db {
            postgres_admin::drop_database(admin, db).await;
        }
    }
}

/// Fails with how to start the service unless something listens at `host:port`.
#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
fn require_listening(what: &str, env: &str, url: &str, hostport: &str) {
    let reachable = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "{what} is not reachable at {url} ({env}); run scripts/test.sh, which starts the test services"
    );
}

#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
fn host_port(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let first = authority.split(',').next().unwrap_or(authority);
    if first.contains(':') {
        first.to_owned()
    } else {
        format!("{first}:{default_port}")
    }
}

#[cfg(feature = "sqlite")]
pub async fn sqlite() -> StoreUnderTest {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tokens.db").display());
    StoreUnderTest {
        url,
        _dir: Some(dir),
        drop_db: None,
    }
}

#[cfg(feature = "redis")]
pub async fn redis() -> StoreUnderTest {
    let url = std::env::var("AUTH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    require_listening("Redis", "AUTH_TEST_REDIS_URL", &url, &host_port(&url, 6379));
    // Tests share the database; each uses user names of its own (see Fixture).
    StoreUnderTest {
        url,
        _dir: None,
        drop_db: None,
    }
}

#[cfg(feature = "redis")]
pub async fn redis_cluster() -> StoreUnderTest {
    let url = std::env::var("AUTH_TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103".to_owned()
    });
    require_listening(
        "Redis Cluster",
        "AUTH_TEST_REDIS_CLUSTER_URL",
        &url,
        &host_port(&url, 6379),
    );
    StoreUnderTest {
        url,
        _dir: None,
        drop_db: None,
    }
}

#[cfg(feature = "postgres")]
pub async fn postgres() -> StoreUnderTest {
    let admin = std::env::var("AUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    require_listening(
        "PostgreSQL",
        "AUTH_TEST_POSTGRES_URL",
        &admin,
        &host_port(&admin, 5432),
    );
    let db = format!(
        "authd_e2e_{}",
        auth_tokens::TokenId::random().to_string().replace('-', "")
    );
    postgres_admin::create_database(&admin, &db).await;
    let url = postgres_admin::with_database(&admin, &db);
    StoreUnderTest {
        url,
        _dir: None,
        drop_db: Some((admin, db)),
    }
}

#[cfg(feature = "postgres")]
mod postgres_admin {
    use auth_tokens::postgres::sqlx::{self, Connection as _};

    async fn connect(admin: &str) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(admin).await.unwrap_or_else(|e| {
            panic!("cannot connect to PostgreSQL at AUTH_TEST_POSTGRES_URL ({e}); run scripts/test.sh")
        })
    }

    /// A fresh database per test: migrations run from scratch and nothing is shared.
    pub async fn create_database(admin: &str, db: &str) {
        let mut conn = connect(admin).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    pub async fn drop_database(admin: &str, db: &str) {
        let mut conn = connect(admin).await;
        let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await;
    }

    /// `admin` with its database path replaced by `db`, query kept.
    pub fn with_database(admin: &str, db: &str) -> String {
        let (scheme, rest) = admin.split_once("://").unwrap();
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let authority = rest.split('/').next().unwrap();
        match query {
            Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
            None => format!("{scheme}://{authority}/{db}"),
        }
    }
}

#[cfg(feature = "sqlite")]
backend_suite!(on_sqlite, crate::backends::sqlite);
#[cfg(feature = "postgres")]
backend_suite!(on_postgres, crate::backends::postgres);
#[cfg(feature = "redis")]
backend_suite!(on_redis, crate::backends::redis);
#[cfg(feature = "redis")]
backend_suite!(on_redis_cluster, crate::backends::redis_cluster);
