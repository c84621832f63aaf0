//! The token server of the `auth-tokens` project: the HTTP contract
//! (`http-contract.md`) as an axum [`Router`] that any axum application can merge, an
//! extractor that protects a host's own routes with the access tokens, and the `authd`
//! binary built on both.
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_server::{AppState, Authenticated, Users, router};
//! use auth_tokens::{KeySet, MemoryStore, SigningKey, TokenService};
//! use axum::routing::get;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeySet::new(SigningKey::generate_ed25519()?);
//! let service = TokenService::new(keys, Arc::new(MemoryStore::new()));
//! let users = Users::load("users.toml".as_ref(), 2)?;
//!
//! async fn me(Authenticated(claims): Authenticated) -> String {
//!     claims.unique_name
//! }
//! let app = axum::Router::new()
//!     .route("/me", get(me))
//!     .with_state(service.clone())
//!     .merge(router(AppState::new(service, users)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:13140").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # Routes
//! | route | |
//! |---|---|
//! | `POST /api/v1/token` | password and refresh_token grants |
//! | `DELETE /api/v1/token[?scope=global]` | logout (bearer access token) |
//! | `POST /api/v1/token/revoke` | RFC 7009 |
//! | `POST /api/v1/token/introspect` | RFC 7662 |
//! | `GET /.well-known/jwks.json` | every public key |
//! | `GET /healthz` | 200 when the store answers |
//!
//! `/api/v1` requests must carry `x-api-version: 1.0-rev0` ([`API_VERSION`]); bodies are
//! limited to 64 KiB ([`BODY_LIMIT`]); every error is RFC 6749 JSON built in one place,
//! [`ApiError`].
//!
//! # Features
//! `sqlite`, `postgres`, `redis` (all on by default) compile the store backends into the
//! `authd` binary (through `auth-tokens`); the library itself works with any
//! [`TokenStore`](auth_tokens::TokenStore).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod error;
mod extract;
mod form;
mod fsutil;
mod guard;
mod handlers;
mod setup;
mod state;
mod trace;
mod users;

use axum::Router;
use axum::routing::{get, post};

pub use error::ApiError;
pub use extract::{Authenticated, LiveAuthenticated};
pub use form::BODY_LIMIT;
pub use guard::API_VERSION;
pub use setup::{
    KeyFileError, ensure_users_file, load_or_generate_key, load_verify_key, verify_key_spec,
};
pub use state::AppState;
pub use trace::{RequestTrace, trace_layer};
pub use users::{Users, UsersError, add_user, hash_password, hash_password_with};

/// The routes of the HTTP contract, ready to serve or to [`Router::merge`] into a host
/// application. It sets no fallback, so it merges into a router that has one. Other paths
/// under `/api/v1/` get a JSON 404 (after the version check); a host's own routes there
/// with literal paths still win, but a host catch-all under `/api/v1/` would clash.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/token",
            post(handlers::token)
                .delete(handlers::logout)
                .fallback(handlers::method_not_allowed),
        )
        .route(
            "/api/v1/token/revoke",
            post(handlers::revoke).fallback(handlers::method_not_allowed),
        )
        .route(
            "/api/v1/token/introspect",
            post(handlers::introspect).fallback(handlers::method_not_allowed),
        )
        .route("/api/v1", axum::routing::any(handlers::not_found))
        .route("/api/v1/{*rest}", axum::routing::any(handlers::not_found))
        // route_layer: only /api/v1 paths (all routed above) need the version header; a
        // plain layer would also wrap the fallback and answer 400 for /favicon.ico.
        .route_layer(axum::middleware::from_fn(guard::api_guard));
    Router::new()
        .route(
            "/.well-known/jwks.json",
            get(handlers::jwks).fallback(handlers::method_not_allowed),
        )
        .route(
            "/healthz",
            get(handlers::healthz).fallback(handlers::method_not_allowed),
        )
        .merge(api)
        .with_state(state)
}
