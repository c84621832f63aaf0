//! The records a token store keeps and the outcomes it reports.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (UUID v4) identifier from the CSPRNG.
            pub fn random() -> Self {
                $name(random_uuid())
            }

            /// Wraps an existing UUID (for stores decoding their records).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s).map($name)
            }
        }
    };
}

id_type!(
    /// Identifies one refresh token (`token_id` in the refresh JWT).
    TokenId
);
id_type!(
    /// Identifies one login session (`sid` in the access JWT).
    FamilyId
);

fn random_uuid() -> Uuid {
    let mut bytes = [0u8; 16];
    // aws-lc-rs' CSPRNG only fails if the OS entropy source is gone; continuing with zeros
    // would mint guessable identifiers, so this is a hard stop.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system CSPRNG failed");
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Why a family was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokeReason {
    /// A consumed refresh token was presented again.
    Reuse,
    /// Revoked by an operator or through the revocation endpoint.
    Revoked,
    /// The user logged out.
    Logout,
}

impl RevokeReason {
    /// The stable name stored in every backend.
    pub const fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Reuse => "reuse",
            RevokeReason::Revoked => "revoked",
            RevokeReason::Logout => "logout",
        }
    }
}

impl fmt::Display for RevokeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevokeReason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reuse" => Ok(RevokeReason::Reuse),
            "revoked" => Ok(RevokeReason::Revoked),
            "logout" => Ok(RevokeReason::Logout),
            _ => Err(UnknownReason(s.to_owned())),
        }
    }
}

/// A stored revocation reason that this version does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown revocation reason {0:?}")]
pub struct UnknownReason(pub String);

/// A login session: every refresh token descended from one password grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The family id (`sid`).
    pub id: FamilyId,
    /// Whose session this is.
    pub subject: String,
    /// Whether its refresh tokens are long-term (`short_term_expiration: "False"`).
    pub long_term: bool,
    /// When the login happened.
    pub created_at: OffsetDateTime,
    /// Set once, when the family is revoked; terminal.
    pub revoked: Option<Revocation>,
}

/// When and why a family was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// When.
    pub at: OffsetDateTime,
    /// Why.
    pub reason: RevokeReason,
}

/// A refresh token about to be stored: at login, or as the child of a rotation (the store
/// fills in family, subject and parent from the token it replaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewToken {
    /// Its id (`token_id`).
    pub id: TokenId,
    /// `iat` (and `nbf`) of its JWT, whole seconds.
    pub issued_at: OffsetDateTime,
    /// `exp` of its JWT, whole seconds.
    pub expires_at: OffsetDateTime,
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Its id (`token_id`).
    pub id: TokenId,
    /// The family it belongs to.
    pub family: FamilyId,
    /// Whose token it is.
    pub subject: String,
    /// `iat` of its JWT.
    pub issued_at: OffsetDateTime,
    /// `exp` of its JWT.
    pub expires_at: OffsetDateTime,
    /// Set once, when it was exchanged.
    pub consumed_at: Option<OffsetDateTime>,
    /// The token it replaced (`None` for the login token).
    pub parent: Option<TokenId>,
    /// The token it was exchanged for (set together with `consumed_at`).
    pub child: Option<TokenId>,
}

/// What [`TokenStore::rotate`](crate::TokenStore::rotate) found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The old token was live: it is now consumed and the new token is stored in its family.
    Rotated {
        /// The family both tokens belong to.
        family: Family,
    },
    /// The old token had already been exchanged. Nothing changed.
    Consumed {
        /// The family, not revoked.
        family: Family,
        /// When the old token was exchanged.
        consumed_at: OffsetDateTime,
        /// The token it was exchanged for, as stored now (`None` only if already purged).
        child: Option<RefreshToken>,
    },
    /// The old token's family is revoked (checked before anything else). Nothing changed.
    Revoked {
        /// The family, with its revocation.
        family: Family,
    },
    /// The old token's `expires_at` is at or before `now`. Nothing changed.
    Expired,
    /// No such token for this subject. Nothing changed.
    NotFound,
}

/// A refresh token and its family, as [`TokenStore::token_status`](crate::TokenStore::token_status)
/// reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    /// The token record.
    pub token: RefreshToken,
    /// Its family.
    pub family: Family,
}

impl TokenState {
    /// Whether the token can still be exchanged at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.family.revoked.is_none()
            && self.token.consumed_at.is_none()
            && self.token.expires_at > now
    }
}
