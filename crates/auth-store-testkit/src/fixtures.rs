//! Records for the checks: a time origin, logins and rotation children at given times.
//!
//! Public so backend crates can write their own backend-specific tests with the same
//! records the suite uses.

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{Family, FamilyId, NewToken, TokenId};

/// The lifetime of the tokens the checks store unless a check needs another.
pub const TOKEN_TTL: Duration = Duration::hours(1);

/// The suite's time origin: the wall clock rounded down to the second, plus 123 456 µs.
///
/// The sub-second part makes every stored `created_at`, `consumed_at` and revocation time
/// a non-whole second, so a store that rounds is caught. The origin is anchored at the
/// wall clock rather than a fixed date because a TTL-based store turns `expires_at` into
/// a real expiry: every token the suite stores expires at least ten minutes after this
/// origin, so no record vanishes in real time while a check runs. Stores learn "now" only
/// from the parameters, so the checks still move time freely (hours ahead).
pub fn epoch() -> OffsetDateTime {
    whole_seconds(OffsetDateTime::now_utc()) + Duration::microseconds(123_456)
}

/// `t` without its fraction of a second, as JWT `iat`/`exp` carry it.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t - Duration::nanoseconds(i64::from(t.nanosecond()))
}

/// A login: a new family and its first refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The family, unrevoked, created at the login time.
    pub family: Family,
    /// Its first token.
    pub first: NewToken,
}

/// A login for `subject` at `at` whose first token lives for `ttl`, with fresh ids.
pub fn login(subject: &str, at: OffsetDateTime, ttl: Duration) -> Login {
    Login {
        family: Family {
            id: FamilyId::random(),
            subject: subject.to_owned(),
            long_term: false,
            created_at: at,
            revoked: None,
        },
        first: new_token(at, ttl),
    }
}

/// A fresh token minted at `at` (iat) that lives for `ttl`, both in whole seconds.
pub fn new_token(at: OffsetDateTime, ttl: Duration) -> NewToken {
    let issued_at = whole_seconds(at);
    NewToken {
        id: TokenId::random(),
        issued_at,
        expires_at: issued_at + ttl,
    }
}
