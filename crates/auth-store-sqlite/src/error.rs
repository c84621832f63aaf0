//! This backend's failures and their one mapping onto [`auth_core::Error`].

use auth_core::BoxError;

pub(crate) const BACKEND: &str = "sqlite";

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

    /// A write that must have touched exactly one row did not: the schema or the data is
    /// not what this code expects.
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
}

/// SQLite primary result codes (the low byte of the extended code).
mod code {
    pub(super) const BUSY: i64 = 5;
    pub(super) const LOCKED: i64 = 6;
    pub(super) const NOMEM: i64 = 7;
    pub(super) const IOERR: i64 = 10;
    pub(super) const CORRUPT: i64 = 11;
    pub(super) const FULL: i64 = 13;
    pub(super) const CANTOPEN: i64 = 14;
    pub(super) const PROTOCOL: i64 = 15;
    pub(super) const NOTADB: i64 = 26;
}

enum Class {
    Unavailable,
    Conflict,
    Corrupt,
    Backend,
}

fn classify_sqlx(e: &sqlx::Error) -> Class {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Class::Unavailable,
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return Class::Conflict;
            }
            let primary = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            match primary {
                // Another process held the lock past busy_timeout, the disk or memory is
                // full, the file cannot be opened: all may pass.
                Some(
                    code::BUSY
                    | code::LOCKED
                    | code::NOMEM
                    | code::IOERR
                    | code::FULL
                    | code::CANTOPEN
                    | code::PROTOCOL,
                ) => Class::Unavailable,
                Some(code::CORRUPT | code::NOTADB) => Class::Corrupt,
                _ => Class::Backend,
            }
        }
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
            StoreError::Migrate(_) | StoreError::Invariant(_) => Class::Backend,
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
