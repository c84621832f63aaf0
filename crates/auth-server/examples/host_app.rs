//! An existing axum application that mounts the token routes next to its own and protects
//! one of its own routes with the access tokens.
//!
//! ```text
//! cargo run -p auth-server --example host_app
//! # prints the admin password of host-users.toml on first start, then:
//! curl -s -H 'x-api-version: 1.0-rev0' -d grant_type=password -d username=admin \
//!      -d password=PASSWORD http://127.0.0.1:13141/api/v1/token
//! curl -s -H "Authorization: Bearer ACCESS_TOKEN" http://127.0.0.1:13141/me
//! ```
//! `HOST_APP_STORE` picks the store (default `memory://`; e.g. `sqlite://host.db`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use auth_server::{
    AppState, Authenticated, LiveAuthenticated, Users, ensure_users_file, load_or_generate_key,
    router, trace_layer,
};
use auth_tokens::{KeySet, TokenService};
use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::get;

/// The host's own state; the extractors only need to find a `TokenService` in it.
#[derive(Clone)]
struct HostState {
    tokens: TokenService,
    greeting: Arc<str>,
}

impl FromRef<HostState> for TokenService {
    fn from_ref(state: &HostState) -> Self {
        state.tokens.clone()
    }
}

async fn index() -> &'static str {
    "public page; try /me with a bearer token\n"
}

/// Any valid access token, verified offline (no store round trip).
async fn me(State(state): State<HostState>, Authenticated(claims): Authenticated) -> String {
    format!(
        "{}, {} (session {})\n",
        state.greeting, claims.unique_name, claims.sid
    )
}

/// Refused as soon as the session is logged out or revoked (one store read).
async fn account(LiveAuthenticated(claims): LiveAuthenticated) -> String {
    format!("account of {}: session still live\n", claims.unique_name)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();

    let (key, _) = load_or_generate_key("host-key.pem".as_ref(), None)?;
    if let Some(password) = ensure_users_file("host-users.toml".as_ref())? {
        eprintln!("created host-users.toml: admin / {password}");
    }
    let users = Users::load("host-users.toml".as_ref(), 1)?;
    let url = std::env::var("HOST_APP_STORE").unwrap_or_else(|_| "memory://".to_owned());
    let store = auth_tokens::connect(&url).await?;
    let tokens = TokenService::new(KeySet::new(key), store);

    let host = HostState {
        tokens: tokens.clone(),
        greeting: Arc::from("hello"),
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/me", get(me))
        .route("/account", get(account))
        .with_state(host)
        // The token endpoints: /api/v1/token..., /.well-known/jwks.json, /healthz.
        .merge(router(AppState::new(tokens, users)))
        .layer(trace_layer());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:13141").await?;
    eprintln!("host app on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
