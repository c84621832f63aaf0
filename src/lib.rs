//! Facade over auth-core and the token stores compiled in with cargo features.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use auth_core::*;
