//! `authd serve`: open everything, then serve until SIGTERM or Ctrl-C.

use std::time::Duration;

use auth_server::{
    AppState, KeyFileError, Users, UsersError, ensure_users_file, load_or_generate_key,
    load_verify_key, router, trace_layer, verify_key_spec,
};
use auth_tokens::{Config, DynTokenStore, Error, KeySet, TokenService};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::time::Instant;

use crate::config::Settings;

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);
/// Records deleted per purge statement.
const PURGE_BATCH: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Users(#[from] UsersError),
    #[error("--verify-key {path}")]
    VerifyKey {
        path: String,
        #[source]
        source: Error,
    },
    #[error("store {url}: invalid")]
    StoreConfig {
        url: String,
        #[source]
        source: Error,
    },
    #[error("store {url}: unreachable after {tries} attempts in {secs} s; giving up")]
    StoreUnreachable {
        url: String,
        tries: u32,
        secs: u64,
        #[source]
        source: Error,
    },
    #[error("invalid lifetimes")]
    Settings(#[source] Error),
    #[error("cannot load TLS certificate/key")]
    Tls(#[source] std::io::Error),
    #[error("cannot serve on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("time value out of range")]
    Range(#[from] time::error::ConversionRange),
}

pub(crate) async fn run(settings: Settings) -> Result<(), ServeError> {
    let (signing, generated) = load_or_generate_key(&settings.key, settings.alg)?;
    if generated {
        tracing::info!(path = %settings.key.display(), alg = %signing.algorithm(), "generated a new signing key");
    }
    let mut keys = KeySet::new(signing);
    for spec in &settings.verify_keys {
        let (alg, path) = verify_key_spec(spec);
        let key = load_verify_key(path, alg)?;
        keys = keys
            .with_verify_key(key)
            .map_err(|source| ServeError::VerifyKey {
                path: path.display().to_string(),
                source,
            })?;
    }

    if let Some(password) = ensure_users_file(&settings.users)? {
        // Shown once, on stderr, and never logged through tracing.
        eprintln!(
            "authd: created {} with user `admin`, password: {password}",
            settings.users.display()
        );
        eprintln!("authd: this password is not shown again; change it with `authd user add admin`");
    }
    let users = Users::load(&settings.users, settings.password_workers)?;
    if users.is_empty() {
        tracing::warn!(path = %settings.users.display(), "the users file has no users: nobody can log in");
    }

    let store = connect_with_retry(&settings.store, settings.store_retry).await?;
    let config = Config::default()
        .with_access_ttl(settings.access_ttl.try_into()?)
        .with_refresh_ttl(settings.refresh_ttl.try_into()?)
        .with_long_refresh_ttl(settings.long_refresh_ttl.try_into()?)
        .with_reuse_grace(settings.reuse_grace.try_into()?)
        .with_leeway(settings.leeway.try_into()?);
    config.validate().map_err(ServeError::Settings)?;
    let service = TokenService::new(keys, store).with_config(config);

    let purge = (!settings.purge_interval.is_zero())
        .then(|| tokio::spawn(purge_loop(service.clone(), settings.purge_interval)));

    let app = router(AppState::new(service, users)).layer(trace_layer());
    let handle: Handle<std::net::SocketAddr> = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let announce = handle.clone();
    tokio::spawn(async move {
        if let Some(addr) = announce.listening().await {
            tracing::info!("listening on {scheme}://{addr}");
        }
    });

    let served = match &settings.tls {
        Some((cert, key)) => {
            let tls = RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(ServeError::Tls)?;
            axum_server::bind_rustls(settings.listen, tls)
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
        None => {
            axum_server::bind(settings.listen)
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
    };
    if let Some(purge) = purge {
        purge.abort();
    }
    served.map_err(|source| ServeError::Listen {
        addr: settings.listen,
        source,
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// Connects, retrying an unreachable store with exponential backoff until `budget` is
/// spent. Anything but "unavailable" (a bad URL, a failed migration) fails at once.
async fn connect_with_retry(url: &str, budget: Duration) -> Result<DynTokenStore, ServeError> {
    let shown = redact(url);
    let deadline = Instant::now() + budget;
    let mut delay = Duration::from_millis(250);
    let mut tries = 0;
    loop {
        tries += 1;
        // An attempt that hangs (a black-holed address, a driver that retries inside its
        // pool) counts as unreachable too; several attempts fit in the budget.
        let attempt = (budget / 4).clamp(Duration::from_secs(1), Duration::from_secs(10));
        let outcome = match tokio::time::timeout(attempt, auth_tokens::connect(url)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Unavailable {
                backend: backend_name(url),
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {} ms", attempt.as_millis()),
                )),
            }),
        };
        match outcome {
            Ok(store) => {
                tracing::info!(store = %shown, "token store ready");
                return Ok(store);
            }
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                // The last wait is cut short so one more attempt lands on the deadline.
                let wait = delay.min(deadline.saturating_duration_since(Instant::now()));
                tracing::warn!(
                    store = %shown,
                    error = %chain(&e),
                    "token store unreachable; retrying in {} ms",
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(source) if source.is_retryable() => {
                return Err(ServeError::StoreUnreachable {
                    url: shown,
                    tries,
                    secs: budget.as_secs(),
                    source,
                });
            }
            Err(source) => {
                return Err(ServeError::StoreConfig { url: shown, source });
            }
        }
    }
}

fn backend_name(url: &str) -> &'static str {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => "postgres",
        Some("redis" | "rediss" | "redis-cluster") => "redis",
        Some("sqlite") => "sqlite",
        _ => "token",
    }
}

async fn purge_loop(service: TokenService, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match service.purge_expired(PURGE_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "purged expired records"),
            Err(e) => tracing::warn!(error = %chain(&e), "purge failed; will retry"),
        }
    }
}

async fn shutdown_on_signal(handle: Handle<std::net::SocketAddr>) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    handle.graceful_shutdown(Some(DRAIN));
}

/// The URL with any password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // Query parameters may carry credentials too (`?password=`): dropped.
    let tail = tail.split_once('?').map_or(tail, |(path, _)| path);
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:<redacted>@{hosts}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:<redacted>@h:5432/db"
        );
        assert_eq!(
            redact("redis://127.0.0.1:6379/2"),
            "redis://127.0.0.1:6379/2"
        );
        assert_eq!(
            redact("redis-cluster://:pw@a:1,b:2"),
            "redis-cluster://:<redacted>@a:1,b:2"
        );
        assert_eq!(redact("sqlite://authd.db"), "sqlite://authd.db");
    }
}
