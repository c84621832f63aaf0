//! The claims of the two token kinds, exactly as they appear on the wire.

use serde::{Deserialize, Serialize};

use crate::model::{FamilyId, TokenId};

/// `aud` of refresh tokens.
pub const REFRESH_AUDIENCE: &str = "refresh";
/// `aud` of access tokens.
pub const ACCESS_AUDIENCE: &str = "access";

/// How long a family's refresh tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefreshKind {
    /// `short_term_expiration: "True"`: the short refresh TTL (default 75 min).
    #[serde(rename = "True")]
    ShortTerm,
    /// `short_term_expiration: "False"`: the long refresh TTL (default 14 days).
    #[serde(rename = "False")]
    LongTerm,
}

impl RefreshKind {
    /// Whether this is [`RefreshKind::LongTerm`].
    pub fn is_long_term(self) -> bool {
        self == RefreshKind::LongTerm
    }

    /// The kind stored as a family's `long_term` flag.
    pub fn from_long_term(long_term: bool) -> Self {
        if long_term {
            RefreshKind::LongTerm
        } else {
            RefreshKind::ShortTerm
        }
    }
}

/// Claims of a refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// The user.
    pub unique_name: String,
    /// This token's id in the store.
    pub token_id: TokenId,
    /// Which refresh TTL applies.
    pub short_term_expiration: RefreshKind,
    /// Not before (unix seconds, = `iat`).
    pub nbf: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Always `"refresh"`.
    pub aud: String,
}

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub unique_name: String,
    /// The family (login session) this token belongs to.
    pub sid: FamilyId,
    /// Not before (unix seconds, = `iat`).
    pub nbf: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Always `"access"`.
    pub aud: String,
}

/// What the verifier needs from either kind.
pub(crate) trait Audience {
    const AUDIENCE: &'static str;
    fn aud(&self) -> &str;
    fn nbf(&self) -> i64;
    fn exp(&self) -> i64;
}

impl Audience for RefreshClaims {
    const AUDIENCE: &'static str = REFRESH_AUDIENCE;
    fn aud(&self) -> &str {
        &self.aud
    }
    fn nbf(&self) -> i64 {
        self.nbf
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Audience for AccessClaims {
    const AUDIENCE: &'static str = ACCESS_AUDIENCE;
    fn aud(&self) -> &str {
        &self.aud
    }
    fn nbf(&self) -> i64 {
        self.nbf
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}
