//! A [`TokenStore`](auth_core::TokenStore) on PostgreSQL, through sqlx.
//!
//! [`PostgresStore`] keeps families and refresh tokens in two tables (see
//! `migrations/postgres/`), embedded here as [`MIGRATOR`]. It gives exactly the outcomes of
//! [`MemoryStore`](auth_core::MemoryStore); the conformance suite in `auth-store-testkit`
//! checks it.
//!
//! # Atomicity
//! A rotation is one SQL statement (one round trip, one implicit transaction): it reads the
//! old token with its family, and an `UPDATE ... WHERE consumed_at IS NULL` marks it
//! consumed while a data-modifying CTE inserts the child only if that update took. The
//! update locks the old row, so concurrent rotations of one token, from any number of
//! processes, queue on that row lock; when the winner commits, PostgreSQL re-checks the
//! waiting updates' `WHERE` against the committed row (READ COMMITTED's re-evaluation), so
//! they update nothing. A loser then re-runs the statement on a fresh snapshot and reports
//! the token as consumed, with its child. A unique index on `parent_id` makes
//! a second child impossible even if this reasoning were wrong.
//!
//! Every other write is a single statement too, except purge, which is a short
//! transaction that skips rows locked by in-flight rotations. A caller's future dropped
//! mid-call never leaves a pooled connection inside a transaction: sqlx queues the
//! rollback before the connection can be reused.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), auth_core::Error> {
//! use auth_store_postgres::PostgresStore;
//!
//! let store = PostgresStore::connect("postgres://authd@db.internal/authd").await?;
//! let _shared: auth_core::DynTokenStore = std::sync::Arc::new(store);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod codec;
mod error;
mod options;
mod store;

pub use options::PostgresStoreOptions;
pub use store::PostgresStore;

/// Re-exported so callers build pools with the same sqlx version as this crate.
pub use sqlx;

/// The schema migrations in `migrations/postgres/`, embedded at build time.
///
/// [`PostgresStore::connect`] runs them; with [`PostgresStore::new`] run them yourself:
/// `MIGRATOR.run(&pool).await`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
