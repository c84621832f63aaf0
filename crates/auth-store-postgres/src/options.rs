//! Connection and pool settings for [`PostgresStore::connect`](crate::PostgresStore::connect).

use std::str::FromStr;
use std::time::Duration;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::StoreError;
use crate::store::PostgresStore;

/// How [`PostgresStoreOptions::connect`] opens its pool.
///
/// The defaults suit a token service: a 3 s pool acquire timeout (an overloaded or
/// unreachable database answers "unavailable" quickly instead of after sqlx's 30 s), a 5 s
/// `statement_timeout` (so a call stuck behind a lock gives up too), and
/// `application_name = auth-store-postgres` so the sessions are easy to find in
/// `pg_stat_activity`.
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
    application_name: String,
    schema: Option<String>,
    migrate: bool,
}

impl Default for PostgresStoreOptions {
    fn default() -> Self {
        PostgresStoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Some(Duration::from_secs(5)),
            application_name: "auth-store-postgres".to_owned(),
            schema: None,
            migrate: true,
        }
    }
}

impl PostgresStoreOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pool size (default 16).
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a call waits for a pooled (or new) connection before failing with
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) (default 3 s).
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The server-side `statement_timeout` of each session (default 5 s; `None` leaves
    /// the server's setting). A statement cancelled by it fails with
    /// [`Error::Unavailable`](auth_core::Error::Unavailable).
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The `application_name` of each session (default `auth-store-postgres`).
    pub fn with_application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Keep the tables in this schema (set as each session's `search_path`, and created
    /// by [`connect`](Self::connect) if missing). Lower-case ASCII letters, digits and `_`,
    /// not starting with a digit; anything else is refused by `connect`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Whether [`connect`](Self::connect) applies [`MIGRATOR`](crate::MIGRATOR) (default
    /// true).
    pub fn with_migrations(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// The connect options these settings give for `url`. Use them to build your own
    /// pool for [`PostgresStore::new`].
    ///
    /// # Errors
    /// [`Error::Backend`](auth_core::Error::Backend) if the URL does not parse or the
    /// schema name is refused.
    pub fn connect_options(&self, url: &str) -> Result<PgConnectOptions, auth_core::Error> {
        Ok(self.options(url)?)
    }

    fn options(&self, url: &str) -> Result<PgConnectOptions, StoreError> {
        let mut options = PgConnectOptions::from_str(url)?.application_name(&self.application_name);
        if let Some(timeout) = self.statement_timeout {
            options =
                options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        if let Some(schema) = &self.schema {
            check_schema(schema)?;
            options = options.options([("search_path", schema)]);
        }
        Ok(options)
    }

    /// Connects to `url` (`postgres://...`), creates the schema if one was set, migrates
    /// unless told not to, and returns a store on a new pool.
    ///
    /// # Errors
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) if the server cannot be
    /// reached in time, [`Error::Backend`](auth_core::Error::Backend) for a bad URL or
    /// schema name, or a failed migration.
    pub async fn connect(&self, url: &str) -> Result<PostgresStore, auth_core::Error> {
        Ok(self.open(url).await?)
    }

    async fn open(&self, url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(self.options(url)?)
            .await?;
        if let Some(schema) = &self.schema {
            // The name was checked by `check_schema`: it needs no quoting.
            pool.execute(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .await?;
        }
        if self.migrate {
            let mut conn = pool.acquire().await?;
            // A migration may rightly run longer than one call of the store; lift the
            // per-call timeout for this session only, and never pool it again.
            conn.close_on_drop();
            conn.execute("SET statement_timeout = 0").await?;
            crate::MIGRATOR.run(&mut *conn).await?;
        }
        Ok(PostgresStore::new(pool))
    }
}

fn check_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "schema name {schema:?} must be lower-case ASCII letters, digits and '_', \
             not starting with a digit, at most 63 bytes"
        )))
    }
}
