//! End-to-end tests: the real `authd` binary over TCP, with a real HTTP client, once per
//! backend compiled in (SQLite, PostgreSQL, Redis), plus the command line and TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]
// Helpers serve the scenarios of whichever backends are compiled in.
#![cfg_attr(not(all(feature = "sqlite", feature = "redis")), allow(dead_code))]

// Without a backend feature only `memory://` is left, which the cli tests use.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod backends;
mod cli;
mod outage;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod suite;
mod support;
