//! Connection and pool settings for [`SqliteStore::connect`](crate::SqliteStore::connect).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::store::SqliteStore;

/// How [`SqliteStoreOptions::connect`] opens the database and sizes its pool.
///
/// The defaults suit a token service: WAL, `synchronous=FULL` (a successful call is on
/// disk), a 5 s `busy_timeout` for writers in other processes, and a 3 s pool acquire
/// timeout so an overloaded store answers "unavailable" quickly instead of after sqlx's 30 s.
#[derive(Debug, Clone)]
pub struct SqliteStoreOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    busy_timeout: Duration,
    synchronous: SqliteSynchronous,
    migrate: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        SqliteStoreOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(3),
            busy_timeout: Duration::from_secs(5),
            synchronous: SqliteSynchronous::Full,
            migrate: true,
        }
    }
}

impl SqliteStoreOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pool size (default 8). Writes are serialized anyway; extra connections serve reads.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a call waits for a pooled connection before failing with
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) (default 3 s).
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long a write waits for another process's write lock (default 5 s).
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// `PRAGMA synchronous` (default `FULL`). `NORMAL` is faster in WAL mode but a power
    /// loss may forget the last rotations, reviving consumed tokens.
    pub fn with_synchronous(mut self, synchronous: SqliteSynchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Whether [`connect`](Self::connect) applies [`MIGRATOR`](crate::MIGRATOR) (default
    /// true).
    pub fn with_migrations(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// The connect options these settings give for `url` (`sqlite://PATH`; the file is
    /// created if missing). Use them to build your own pool for [`SqliteStore::new`].
    ///
    /// # Errors
    /// [`Error::Backend`](auth_core::Error::Backend) if the URL does not parse.
    pub fn connect_options(&self, url: &str) -> Result<SqliteConnectOptions, auth_core::Error> {
        Ok(SqliteConnectOptions::from_str(url)
            .map_err(StoreError::from)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(self.synchronous)
            .busy_timeout(self.busy_timeout)
            .foreign_keys(true))
    }

    /// Opens (creating if needed) the database at `url`, migrates it unless told not to,
    /// and returns a store on a new pool.
    ///
    /// # Errors
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) if the file cannot be opened,
    /// [`Error::Backend`](auth_core::Error::Backend) for a bad URL or a failed migration.
    pub async fn connect(&self, url: &str) -> Result<SqliteStore, auth_core::Error> {
        let connect = self.connect_options(url)?;
        let mut pool = SqlitePoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout);
        if url.contains(":memory:") || url.contains("mode=memory") {
            // Connections to one in-memory database share a cache whose table locks fail
            // at once (SQLITE_LOCKED) instead of waiting, and the database vanishes with
            // its last connection: keep exactly one, forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(connect).await.map_err(StoreError::from)?;
        if self.migrate {
            crate::MIGRATOR.run(&pool).await.map_err(StoreError::from)?;
        }
        Ok(SqliteStore::new(pool))
    }
}
