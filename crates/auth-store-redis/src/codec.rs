//! Stored values to and from the auth-core model.
//!
//! Times are Unix microseconds as decimal integers (the precision the trait promises);
//! absent values come back from the scripts as empty strings, because a Lua `nil` would
//! end the reply array early.

use std::str::FromStr;

use auth_core::{Family, FamilyId, RefreshToken, Revocation, RevokeReason, TokenId, TokenState};
use time::{Duration, OffsetDateTime};

use crate::error::StoreError;

/// Unix microseconds, rounded down (as `auth_core::to_micros` truncates).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    let us = t.unix_timestamp_nanos().div_euclid(1_000);
    // Every `OffsetDateTime` (years ±9999) is within ±3.2e17 µs.
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

fn parse_time(s: &str, what: &'static str) -> Result<OffsetDateTime, StoreError> {
    let us: i64 = s
        .parse()
        .map_err(|_| StoreError::corrupt(format!("{what}: not an integer: {s:?}")))?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|_| StoreError::corrupt(format!("{what}: out of range: {us}")))
}

fn parse_opt_time(s: &str, what: &'static str) -> Result<Option<OffsetDateTime>, StoreError> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse_time(s, what).map(Some)
    }
}

fn parse_id<T: FromStr>(s: &str, what: &'static str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::corrupt(format!("{what}: not a UUID: {s:?}")))
}

fn parse_opt_id<T: FromStr>(s: &str, what: &'static str) -> Result<Option<T>, StoreError> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse_id(s, what).map(Some)
    }
}

/// The immutable part of a family record: `<long_term 0|1>:<created_us>`.
pub(crate) fn encode_family(family: &Family) -> String {
    format!(
        "{}:{}",
        u8::from(family.long_term),
        micros(family.created_at)
    )
}

/// The revocation field: `<at_us>:<reason>`.
pub(crate) fn encode_revocation(at: OffsetDateTime, reason: RevokeReason) -> String {
    format!("{}:{}", micros(at), reason.as_str())
}

/// A family from its id, its subject and the `f:` and `r:` fields (`r` empty if unrevoked).
pub(crate) fn decode_family(
    id: &str,
    subject: &str,
    record: &str,
    revoked: &str,
) -> Result<Family, StoreError> {
    let (long_term, created) = record
        .split_once(':')
        .ok_or_else(|| StoreError::corrupt(format!("family record {record:?}")))?;
    let long_term = match long_term {
        "0" => false,
        "1" => true,
        other => return Err(StoreError::corrupt(format!("family long_term {other:?}"))),
    };
    let revoked = if revoked.is_empty() {
        None
    } else {
        let (at, reason) = revoked
            .split_once(':')
            .ok_or_else(|| StoreError::corrupt(format!("family revocation {revoked:?}")))?;
        let reason = reason
            .parse::<RevokeReason>()
            .map_err(|e| StoreError::Corrupt(Box::new(e)))?;
        Some(Revocation {
            at: parse_time(at, "revoked_at")?,
            reason,
        })
    };
    Ok(Family {
        id: parse_id::<FamilyId>(id, "family id")?,
        subject: subject.to_owned(),
        long_term,
        created_at: parse_time(created, "created_at")?,
        revoked,
    })
}

/// A token from its id, subject and fields `[f, i, e, c, p, n]` (the order of every
/// script's `HMGET`).
pub(crate) fn decode_token(
    id: TokenId,
    subject: &str,
    fields: &[String],
) -> Result<RefreshToken, StoreError> {
    let [family, issued, expires, consumed, parent, child] = fields else {
        return Err(StoreError::corrupt(format!(
            "token record has {} fields, expected 6",
            fields.len()
        )));
    };
    Ok(RefreshToken {
        id,
        family: parse_id(family, "token family")?,
        subject: subject.to_owned(),
        issued_at: parse_time(issued, "issued_at")?,
        expires_at: parse_time(expires, "expires_at")?,
        consumed_at: parse_opt_time(consumed, "consumed_at")?,
        parent: parse_opt_id(parent, "parent")?,
        child: parse_opt_id(child, "child")?,
    })
}

/// A token and its family from `token_status`'s reply: the six token fields, then the
/// family's `f:` and `r:` fields.
pub(crate) fn decode_state(
    id: TokenId,
    subject: &str,
    reply: &[String],
) -> Result<TokenState, StoreError> {
    let [token @ .., record, revoked] = reply else {
        return Err(StoreError::corrupt("token status reply too short"));
    };
    let token = decode_token(id, subject, token)?;
    let family = decode_family(&token.family.to_string(), subject, record, revoked)?;
    Ok(TokenState { token, family })
}

/// How long (ms) a record must stay: until `expires_at` as seen from `reference` (the
/// caller's clock), plus `retention`. Relative, so the clocks of the app and Redis need not
/// agree; at least 1 ms, because `PEXPIRE` with 0 deletes the key.
pub(crate) fn ttl_ms(
    expires_at: OffsetDateTime,
    reference: OffsetDateTime,
    retention: Duration,
) -> i64 {
    // A century: far beyond any token lifetime, and far from the overflow Redis refuses.
    const MAX_MS: i64 = 100 * 366 * 24 * 3600 * 1000;
    let remaining = (expires_at - reference).max(Duration::ZERO) + retention;
    let ms = remaining.whole_milliseconds().clamp(1, i128::from(MAX_MS));
    i64::try_from(ms).unwrap_or(MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_round_trip_to_the_microsecond() {
        for t in [
            datetime!(2026-12-04 21:39:19.123456 UTC),
            datetime!(1900-01-01 00:00:00.000001 UTC),
            datetime!(1969-12-31 23:59:59.999999 UTC),
        ] {
            assert_eq!(parse_time(&micros(t).to_string(), "t").ok(), Some(t));
        }
        let t = datetime!(1969-12-31 23:59:59.9999999 UTC);
        assert_eq!(micros(t), -1);
    }

    #[test]
    fn family_round_trips_with_and_without_revocation() {
        let created = datetime!(2026-01-02 03:04:05.678901 UTC);
        let mut family = Family {
            id: FamilyId::random(),
            subject: "bob".into(),
            long_term: true,
            created_at: created,
            revoked: None,
        };
        let decode = |f: &Family, r: &str| {
            decode_family(&f.id.to_string(), "bob", &encode_family(f), r).ok()
        };
        assert_eq!(decode(&family, ""), Some(family.clone()));
        let at = created + Duration::minutes(3);
        let revoked = encode_revocation(at, RevokeReason::Reuse);
        family.revoked = Some(Revocation {
            at,
            reason: RevokeReason::Reuse,
        });
        assert_eq!(decode(&family, &revoked), Some(family.clone()));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let id = FamilyId::random().to_string();
        for (record, revoked) in [
            ("", ""),
            ("2:5", ""),
            ("1:x", ""),
            ("1:5", "7:stolen"),
            ("1:5", "7"),
        ] {
            assert!(matches!(
                decode_family(&id, "s", record, revoked),
                Err(StoreError::Corrupt(_))
            ));
        }
        assert!(matches!(
            decode_token(TokenId::random(), "s", &["x".into()]),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn ttl_covers_remaining_lifetime_plus_retention() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let r = Duration::minutes(1);
        assert_eq!(ttl_ms(now + Duration::seconds(10), now, r), 70_000);
        assert_eq!(ttl_ms(now - Duration::seconds(10), now, r), 60_000);
        assert_eq!(ttl_ms(now, now, Duration::ZERO), 1);
    }
}
