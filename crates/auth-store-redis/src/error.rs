//! This backend's failures and their one mapping into [`auth_core::Error`].

use redis::{ErrorKind, RedisError, ServerErrorKind};

pub(crate) const BACKEND: &str = "redis";

/// What went wrong inside this crate; callers only ever see [`auth_core::Error`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("redis request failed")]
    Redis(#[from] RedisError),

    #[error("corrupt record")]
    Corrupt(#[source] auth_core::BoxError),

    #[error("the store's script answered {0:?}, which this version does not know")]
    UnexpectedReply(String),

    #[error("the subject already has a token or family with this id")]
    Conflict,

    #[error("invalid redis URL: {0}")]
    Url(&'static str),

    #[error("Redis {0} is too old: this store needs 7.0 or later")]
    ServerTooOld(String),

    #[error(
        "maxmemory-policy is {0:?}: Redis may evict a family record and so resurrect revoked \
         tokens; set it to noeviction (or connect with EvictionPolicyCheck::Warn)"
    )]
    EvictingPolicy(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt(what.into().into())
    }
}

/// Whether a Redis error means "not reachable right now" (retry later) rather than a bug.
fn is_unavailable(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
        return true;
    }
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::BusyLoading
            | ServerErrorKind::MasterDown
            // A failover in progress: we reached a replica that was a primary.
            | ServerErrorKind::ReadOnly
            // Redirections are followed by the cluster client; one that escapes means the
            // topology is changing under us.
            | ServerErrorKind::Moved
            | ServerErrorKind::Ask,
        )
        | ErrorKind::ClusterConnectionNotFound => true,
        // A long script or a full memory with `noeviction`: retry later, nothing was written.
        _ => matches!(e.code(), Some("BUSY" | "OOM" | "NOREPLICAS")),
    }
}

impl From<StoreError> for auth_core::Error {
    fn from(e: StoreError) -> Self {
        match e {
            // Raised by a script that found a record it cannot read, before any write.
            StoreError::Redis(r) if r.code() == Some("CORRUPT") => auth_core::Error::Corrupt {
                backend: BACKEND,
                source: Box::new(StoreError::Redis(r)),
            },
            StoreError::Redis(r) if is_unavailable(&r) => auth_core::Error::Unavailable {
                backend: BACKEND,
                source: Box::new(StoreError::Redis(r)),
            },
            StoreError::Corrupt(_) | StoreError::UnexpectedReply(_) => auth_core::Error::Corrupt {
                backend: BACKEND,
                source: Box::new(e),
            },
            StoreError::Conflict => auth_core::Error::Conflict { backend: BACKEND },
            StoreError::Redis(_)
            | StoreError::Url(_)
            | StoreError::ServerTooOld(_)
            | StoreError::EvictingPolicy(_) => auth_core::Error::Backend {
                backend: BACKEND,
                source: Box::new(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn map(e: RedisError) -> auth_core::Error {
        StoreError::Redis(e).into()
    }

    #[test]
    fn outages_are_unavailable() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::TimedOut,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            assert!(map(io::Error::from(kind).into()).is_retryable(), "{kind:?}");
        }
        for code in [
            "CLUSTERDOWN",
            "TRYAGAIN",
            "LOADING",
            "MASTERDOWN",
            "BUSY",
            "OOM",
        ] {
            assert!(map(server_error(code)).is_retryable(), "{code}");
        }
    }

    fn server_error(code: &str) -> RedisError {
        redis::parse_redis_value(format!("-{code} detail\r\n").as_bytes())
            .and_then(|v| v.extract_error())
            .expect_err("an error reply parses to an error")
    }

    #[test]
    fn script_errors_are_backend_bugs() {
        for code in ["ERR", "NOPERM", "CROSSSLOT", "WRONGTYPE"] {
            assert!(
                matches!(
                    map(server_error(code)),
                    auth_core::Error::Backend {
                        backend: "redis",
                        ..
                    }
                ),
                "{code}"
            );
        }
    }
}
