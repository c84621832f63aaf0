//! This backend's failures and their one mapping onto [`auth_core::Error`].

use auth_core::BoxError;

pub(crate) const BACKEND: &str = "postgres";

/// Everything that can go wrong inside this crate, before it is classified for callers.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// A driver or database error.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),

    /// Applying the embedded migrations failed.
    #[error("applying migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A stored value that this version cannot read back.
    #[error("stored {column} is invalid")]
    BadValue {
        column: &'static str,
        #[source]
        source: BoxError,
    },

    /// A setting this crate refuses (e.g. a schema name it will not quote).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The database answered in a way the statements here rule out: the schema or the data
    /// is not what this code expects.
    #[error("{0}")]
    Invariant(&'static str),
}

impl StoreError {
    pub(crate) fn bad_value(column: &'static str, source: impl Into<BoxError>) -> Self {
        StoreError::BadValue {
            column,
            source: source.into(),
        }
    }

    /// Whether running the same statement again may succeed: the database gave up on it
    /// because of concurrent transactions, not because of what it asks.
    pub(crate) fn is_concurrency_abort(&self) -> bool {
        match self {
            StoreError::Sqlx(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40001" | "40P01"))
            }
            _ => false,
        }
    }
}

enum Class {
    Unavailable,
    Conflict,
    Corrupt,
    Backend,
}

fn classify_sqlstate(code: &str) -> Class {
    match code {
        "23505" => Class::Conflict,
        // Data or index corruption reported by the server itself.
        "XX001" | "XX002" => Class::Corrupt,
        // Serialization failure and deadlock (retry), lock timeout, statement timeout or
        // cancel, server shutting down or starting, a read-only standby after failover.
        "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "25006" => {
            Class::Unavailable
        }
        // Connection exceptions, insufficient resources (disk full, out of memory, too
        // many connections), and the server's own I/O errors.
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("58") => {
            Class::Unavailable
        }
        _ => Class::Backend,
    }
}

fn classify_sqlx(e: &sqlx::Error) -> Class {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Class::Unavailable,
        sqlx::Error::Database(db) => db
            .code()
            .map_or(Class::Backend, |code| classify_sqlstate(&code)),
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_) => Class::Corrupt,
        _ => Class::Backend,
    }
}

impl From<StoreError> for auth_core::Error {
    fn from(e: StoreError) -> Self {
        let class = match &e {
            StoreError::Sqlx(s) => classify_sqlx(s),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(s))
            | StoreError::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(s, _)) => {
                match classify_sqlx(s) {
                    Class::Unavailable => Class::Unavailable,
                    _ => Class::Backend,
                }
            }
            StoreError::Migrate(_) | StoreError::Config(_) | StoreError::Invariant(_) => {
                Class::Backend
            }
            StoreError::BadValue { .. } => Class::Corrupt,
        };
        match class {
            Class::Unavailable => auth_core::Error::Unavailable {
                backend: BACKEND,
                source: Box::new(e),
            },
            Class::Conflict => auth_core::Error::Conflict { backend: BACKEND },
            Class::Corrupt => auth_core::Error::Corrupt {
                backend: BACKEND,
                source: Box::new(e),
            },
            Class::Backend => auth_core::Error::Backend {
                backend: BACKEND,
                source: Box::new(e),
            },
        }
    }
}
