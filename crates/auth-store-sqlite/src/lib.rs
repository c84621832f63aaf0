//! A [`TokenStore`](auth_core::TokenStore) on SQLite, through sqlx.
//!
//! [`SqliteStore`] keeps families and refresh tokens in two tables (see
//! `migrations/sqlite/`), embedded here as [`MIGRATOR`]. It gives exactly the outcomes of
//! [`MemoryStore`](auth_core::MemoryStore); the conformance suite in `auth-store-testkit`
//! checks it.
//!
//! # Durability and atomicity
//! Every write runs in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the
//! first read, so a rotation's check and its write see the same state, and two processes
//! sharing the file queue on the lock (up to `busy_timeout`) instead of failing. A deferred
//! transaction that reads and then writes would get `SQLITE_BUSY` at the upgrade whatever
//! the timeout. Within one process, writes also queue on an async lock, so they wait in
//! order instead of polling SQLite's busy handler. [`SqliteStore::connect`] opens the file
//! in WAL mode with `synchronous=FULL`: when a call returns `Ok`, its write is on disk.
//!
//! A login and a rotation each send their whole transaction (`BEGIN IMMEDIATE`, the
//! statements, `COMMIT`) to the connection in one call: the rotation's UPDATE consumes the
//! old token only if it is live, its INSERT stores the child only if that UPDATE changed a
//! row, and a SELECT reports what is now stored. If such a call is cut short (an error, or
//! the caller's future dropped), the connection may still be inside the transaction, so
//! it is closed, which rolls back, instead of going back to the pool. Purge uses sqlx's
//! transaction, which rolls back on drop.
//!
//! A unique index on `parent_id` makes a second child of one token impossible even if this
//! code were wrong, and foreign keys tie every token to its family.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), auth_core::Error> {
//! use auth_store_sqlite::SqliteStore;
//!
//! let store = SqliteStore::connect("sqlite://tokens.db").await?;
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

pub use options::SqliteStoreOptions;
pub use store::SqliteStore;

/// Re-exported so callers build pools with the same sqlx version as this crate.
pub use sqlx;

/// The schema migrations in `migrations/sqlite/`, embedded at build time.
///
/// [`SqliteStore::connect`] runs them; with [`SqliteStore::new`] run them yourself:
/// `MIGRATOR.run(&pool).await`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
