//! The one error type of auth-core, shared by every token store.

use std::fmt;

/// A boxed error source, kept so callers can walk the cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in auth-core and in a [`TokenStore`](crate::TokenStore).
///
/// Callers act on three groups: [`Error::InvalidToken`] (the client's fault, never retry),
/// [`Error::Unavailable`] (retryable: the store could not be reached in time), and the rest
/// (configuration problems and bugs).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The presented token must not be honoured; nothing was changed except, for
    /// [`Rejection::Reused`], the durable revocation of the token's family.
    #[error("invalid token: {0}")]
    InvalidToken(Rejection),

    /// The store could not answer (connection refused, timeout, pool exhausted, request
    /// cancelled). Retryable; the operation may or may not have been applied.
    #[error("{backend} token store unavailable")]
    Unavailable {
        /// Which backend failed.
        backend: &'static str,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },

    /// A record was written twice with the same identifier (a bug or a UUID collision).
    #[error("{backend} token store: record already exists")]
    Conflict {
        /// Which backend refused.
        backend: &'static str,
    },

    /// A stored record could not be decoded: schema drift or outside interference.
    #[error("{backend} token store holds a corrupt record")]
    Corrupt {
        /// Which backend returned it.
        backend: &'static str,
        /// What was wrong with it.
        #[source]
        source: BoxError,
    },

    /// Any other backend failure (bad SQL, protocol error): a bug, not retryable.
    #[error("{backend} token store failed")]
    Backend {
        /// Which backend failed.
        backend: &'static str,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },

    /// A configuration value (store URL, option) is unusable. Never retryable.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A key could not be loaded, generated or used.
    #[error("key error: {reason}")]
    Key {
        /// What went wrong, for humans.
        reason: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// True when retrying later may succeed (maps to HTTP 503).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// The rejection reason when the token itself was refused.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Error::InvalidToken(r) => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn key(reason: impl Into<String>) -> Self {
        Error::Key {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn key_with(reason: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Key {
            reason: reason.into(),
            source: Some(source.into()),
        }
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Error::InvalidToken(r)
    }
}

/// Why a token was refused. Public for logging and metrics; on the wire every rejection is
/// the same `invalid_grant` / `invalid_token`, so clients learn nothing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a compact JWS, bad base64 or JSON, wrong claim types, or too large.
    Malformed,
    /// The header has no `kid`, or one we do not hold.
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key named by `kid`.
    AlgorithmMismatch,
    /// The header lists a `crit` extension we do not understand.
    UnsupportedCritical,
    /// The signature does not verify.
    BadSignature,
    /// `aud` is missing, not a single string, or not the expected one.
    WrongAudience,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// The store has no record of this refresh token.
    Unknown,
    /// The refresh token was already exchanged; its family has been revoked.
    Reused,
    /// The token's family was revoked.
    Revoked,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Malformed => "malformed token",
            Rejection::UnknownKey => "unknown or missing key id",
            Rejection::AlgorithmMismatch => "algorithm does not match the key",
            Rejection::UnsupportedCritical => "unsupported critical header",
            Rejection::BadSignature => "bad signature",
            Rejection::WrongAudience => "wrong audience",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not yet valid",
            Rejection::Unknown => "unknown token",
            Rejection::Reused => "refresh token reused; session revoked",
            Rejection::Revoked => "session revoked",
        })
    }
}

/// Result alias for auth-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
