//! A [`TokenStore`](auth_core::TokenStore) in Redis (7.0 or later), standalone or Redis Cluster.
//!
//! ```no_run
//! # async fn demo() -> auth_core::Result<()> {
//! use auth_store_redis::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?.with_key_prefix("myapp:");
//! let cluster = RedisStore::connect("redis-cluster://10.0.0.1:6379,10.0.0.2:6379").await?;
//! # let _ = (store, cluster);
//! # Ok(())
//! # }
//! ```
//!
//! Or bring a connection: [`RedisStore::new`] takes a
//! [`ConnectionManager`](redis::aio::ConnectionManager) and [`RedisStore::new_cluster`] a
//! [`ClusterConnection`](redis::cluster_async::ClusterConnection); both reconnect by
//! themselves after a server restart, so the store keeps working without being rebuilt.
//! The driver is re-exported as [`redis`] to avoid version skew.
//!
//! # Atomicity
//! Every operation is one Lua script, run with `EVALSHA` (the script is loaded again when
//! the server answers `NOSCRIPT`, e.g. after a restart): one round trip, on a standalone
//! server and a cluster alike (a rotation that finds its token consumed takes a second,
//! see below). Each script reads and checks everything before its first write, because
//! Redis does not roll a failed script back. All keys of one subject share one cluster
//! hash tag, derived from the subject so that no user name (`{`, `}`, any byte) can break
//! it, and every key a script touches is declared in `KEYS`: no script crosses a slot, and
//! `revoke_subject` is one atomic step.
//!
//! Keys, for prefix `P` (default `auth:`) and tag `T`: `P{T}:s` is a hash holding every
//! family of the subject, `P{T}:x` a sorted set of those families by the time until which
//! they matter (so a login can drop dead ones cheaply), `P{T}:t:<token id>` a hash per
//! refresh token.
//!
//! Ids are unique per subject, which is all the `TokenStore` contract asks: a login whose
//! family or token id the subject already has, or a rotation into a token id the subject
//! already has, is refused with [`Error::Conflict`](auth_core::Error::Conflict) before
//! anything is written. An id that another subject holds is not looked for (its records
//! may live in another slot, and ids are random 122-bit UUIDs always looked up with their
//! subject): it names a separate record of that subject.
//!
//! [`Rotation::Consumed`](auth_core::Rotation::Consumed) takes a second request: the child
//! record is read after the (write-free) check, because its key is only known from the old
//! token's record.
//!
//! # Expiry
//! Records carry TTLs set to the latest time they can still matter, measured from the times
//! the caller passes (so Redis' clock need not agree with the caller's), plus a retention
//! margin ([`RedisStore::with_retention`], default 5 minutes): a token — consumed or not,
//! since a consumed token must be recognised as reused — until its own expiry; a family
//! until its last token's; a subject's hash until its last family's. Redis deletes them,
//! and each login drops up to 64 dead families from its subject's hash, so
//! [`purge_expired`](auth_core::TokenStore::purge_expired) always returns 0.
//!
//! # Failures
//! - A token is accepted only while its own record **and** its family's record exist: a
//!   Redis that lost data (restarted without persistence, flushed, evicted) logs sessions
//!   out, it never accepts a token it cannot check. Run with `maxmemory-policy noeviction`;
//!   [`RedisStore::connect`] checks it ([`EvictionPolicyCheck`]). The README states what
//!   each persistence setting guarantees.
//! - Connection refused, I/O errors, timeouts, `LOADING`, `CLUSTERDOWN`, `TRYAGAIN`,
//!   `MASTERDOWN`, `READONLY`, `BUSY` and `OOM` are
//!   [`Error::Unavailable`](auth_core::Error::Unavailable); an unreadable record is
//!   [`Error::Corrupt`](auth_core::Error::Corrupt); anything else is
//!   [`Error::Backend`](auth_core::Error::Backend).
//! - **The ambiguous case**: when the response timeout fires (or the connection drops)
//!   after a script was sent, the script may still have run. For `rotate` that means the
//!   old token may be consumed although the caller saw `Unavailable` and returned 503. The
//!   client retries with the same refresh token, finds it `Consumed` within the service's
//!   reuse grace with its child unused, and is handed that child: the same chain, no fork
//!   and no false reuse alarm. Keep the reuse grace longer than the response timeout plus
//!   the client's retry delay; with no grace (auth-core's default) the retry counts as
//!   reuse and the session is revoked: safe, but the user logs in again. A timed-out
//!   `insert_family` that ran leaves a session nobody holds a token for, which expires.
//!   The revocations are idempotent and simply retried.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod codec;
mod connect;
mod error;
mod keys;
mod scripts;
mod store;

pub use connect::{ConnectOptions, EvictionPolicyCheck};
pub use store::{DEFAULT_PREFIX, DEFAULT_RETENTION, RedisStore};

pub use redis;
