//! Mint, rotate, revoke and verify JWT access/refresh token pairs.
//!
//! A login (`TokenService::login`) starts a *family* and returns a short-lived access token
//! and a single-use refresh token. Exchanging the refresh token (`TokenService::refresh`)
//! consumes it atomically in the [`TokenStore`]; presenting a consumed token again revokes
//! the whole family. Storage is the [`TokenStore`] trait; [`MemoryStore`] is the reference
//! implementation and the backends live in their own crates.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod clock;
mod error;
mod memory;
mod model;
mod store;

pub use clock::{Clock, ManualClock, SystemClock, to_micros};
pub use error::{BoxError, Error, Rejection, Result};
pub use memory::MemoryStore;
pub use model::{
    Family, FamilyId, NewToken, RefreshToken, Revocation, RevokeReason, Rotation, TokenId,
    TokenState, UnknownReason,
};
pub use store::{DynTokenStore, TokenStore};

pub use time;
pub use uuid;
