//! Mint, rotate, revoke and verify JWT access/refresh token pairs.
//!
//! A login ([`TokenService::login`]) starts a *family* (a session) and returns a
//! short-lived access token and a single-use refresh token. Exchanging the refresh token
//! ([`TokenService::refresh`]) consumes it atomically in the [`TokenStore`]; presenting a
//! consumed token again revokes the whole family. Storage is the [`TokenStore`] trait;
//! [`MemoryStore`] is the reference implementation and the backends live in their own
//! crates (`auth-store-sqlite`, `auth-store-postgres`, `auth-store-redis`).
//!
//! ```
//! use std::sync::Arc;
//! use auth_core::{KeySet, MemoryStore, RefreshKind, SigningKey, TokenService};
//!
//! # tokio_test();
//! # fn tokio_test() {
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let keys = KeySet::new(SigningKey::generate_ed25519()?);
//! let service = TokenService::new(keys, Arc::new(MemoryStore::new()));
//!
//! let pair = service.login("alice", RefreshKind::ShortTerm).await?;
//! let claims = service.verify_access(&pair.access_token)?;
//! assert_eq!(claims.unique_name, "alice");
//!
//! let next = service.refresh(&pair.refresh_token).await?;
//! // The old refresh token is spent: presenting it again revokes the session.
//! assert!(service.refresh(&pair.refresh_token).await.is_err());
//! assert!(service.refresh(&next.refresh_token).await.is_err());
//! # Ok::<(), auth_core::Error>(())
//! # }).unwrap();
//! # }
//! ```
//!
//! # Implementing a custom `TokenStore`
//! Implement the eight methods of [`TokenStore`] with exactly the outcomes documented
//! there, then run the conformance suite of `auth-store-testkit` against it:
//! `auth_store_testkit::conformance_tests!(my_fresh_store);`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod claims;
mod clock;
mod error;
mod jwt;
mod keys;
mod memory;
mod model;
mod service;
mod store;

pub use claims::{ACCESS_AUDIENCE, AccessClaims, REFRESH_AUDIENCE, RefreshClaims, RefreshKind};
pub use clock::{Clock, ManualClock, SystemClock, to_micros};
pub use error::{BoxError, Error, Rejection, Result};
pub use jwt::MAX_TOKEN_LEN;
pub use keys::{Algorithm, KeySet, SigningKey, VerifyingKey};
pub use memory::MemoryStore;
pub use model::{
    Family, FamilyId, NewToken, RefreshToken, Revocation, RevokeReason, Rotation, TokenId,
    TokenState, UnknownReason,
};
pub use service::{Config, Introspection, TokenPair, TokenService};
pub use store::{DynTokenStore, TokenStore};

pub use time;
pub use uuid;
