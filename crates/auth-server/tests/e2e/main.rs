//! End-to-end tests: the real `authd` binary over TCP, with a real HTTP client, once per
//! backend compiled in (SQLite, PostgreSQL, Redis), plus the command line and TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod backends;
mod cli;
mod outage;
mod suite;
mod support;
