//! Router-level tests of every clause of the HTTP contract: no socket, a MemoryStore that
//! can be made unreachable, and a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod requests;
mod sessions;
mod support;
mod token;
