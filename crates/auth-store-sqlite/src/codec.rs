//! How records map onto SQLite values: ids as 16-byte blobs, times as unix microseconds.

use auth_core::{Family, FamilyId, RefreshToken, Revocation, RevokeReason, TokenId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

pub(crate) type Blob = [u8; 16];

pub(crate) fn token_blob(id: TokenId) -> Blob {
    *id.as_uuid().as_bytes()
}

pub(crate) fn family_blob(id: FamilyId) -> Blob {
    *id.as_uuid().as_bytes()
}

/// Unix microseconds; the trait promises microsecond precision, and anything finer is
/// dropped here (towards zero, as `auth_core::to_micros` does for times after 1970).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    // i64 microseconds span ±292,000 years; `time` stops at ±9999.
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn time_from(column: &'static str, micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| StoreError::bad_value(column, e))
}

fn get<'r, T>(row: &'r SqliteRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    Ok(row.try_get(column)?)
}

fn time(row: &SqliteRow, column: &'static str) -> Result<OffsetDateTime, StoreError> {
    time_from(column, get(row, column)?)
}

fn opt_time(row: &SqliteRow, column: &'static str) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(row, column)?
        .map(|m| time_from(column, m))
        .transpose()
}

fn uuid(row: &SqliteRow, column: &'static str) -> Result<Uuid, StoreError> {
    let bytes: Vec<u8> = get(row, column)?;
    Uuid::from_slice(&bytes).map_err(|e| StoreError::bad_value(column, e))
}

fn opt_uuid(row: &SqliteRow, column: &'static str) -> Result<Option<Uuid>, StoreError> {
    get::<Option<Vec<u8>>>(row, column)?
        .map(|b| Uuid::from_slice(&b).map_err(|e| StoreError::bad_value(column, e)))
        .transpose()
}

/// Decodes the family columns `family_id, subject, long_term, created_at, revoked_at,
/// revoke_reason`.
pub(crate) fn family(row: &SqliteRow) -> Result<Family, StoreError> {
    let revoked_at = opt_time(row, "revoked_at")?;
    let reason: Option<String> = get(row, "revoke_reason")?;
    let revoked = match (revoked_at, reason) {
        (None, None) => None,
        (Some(at), Some(reason)) => Some(Revocation {
            at,
            reason: reason
                .parse::<RevokeReason>()
                .map_err(|e| StoreError::bad_value("revoke_reason", e))?,
        }),
        _ => {
            return Err(StoreError::bad_value(
                "revoked_at",
                "revoked_at and revoke_reason must be set together",
            ));
        }
    };
    Ok(Family {
        id: FamilyId::from_uuid(uuid(row, "family_id")?),
        subject: get(row, "subject")?,
        long_term: get(row, "long_term")?,
        created_at: time(row, "created_at")?,
        revoked,
    })
}

/// Decodes the token columns `token_id, issued_at, expires_at, consumed_at, parent_id,
/// child_id` (each name prefixed with `prefix`) of a token in `family`.
pub(crate) fn token(
    row: &SqliteRow,
    prefix: Prefix,
    family: &Family,
) -> Result<RefreshToken, StoreError> {
    let c = prefix.columns();
    Ok(RefreshToken {
        id: TokenId::from_uuid(uuid(row, c[0])?),
        family: family.id,
        subject: family.subject.clone(),
        issued_at: time(row, c[1])?,
        expires_at: time(row, c[2])?,
        consumed_at: opt_time(row, c[3])?,
        parent: opt_uuid(row, c[4])?.map(TokenId::from_uuid),
        child: opt_uuid(row, c[5])?.map(TokenId::from_uuid),
    })
}

/// Which token of a row to decode: queries that return a token and its child alias the
/// child's columns with `c_`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Prefix {
    Token,
    Child,
}

impl Prefix {
    fn columns(self) -> [&'static str; 6] {
        match self {
            Prefix::Token => [
                "token_id",
                "issued_at",
                "expires_at",
                "consumed_at",
                "parent_id",
                "child_id",
            ],
            Prefix::Child => [
                "c_token_id",
                "c_issued_at",
                "c_expires_at",
                "c_consumed_at",
                "c_parent_id",
                "c_child_id",
            ],
        }
    }
}

/// Whether the row carries a child token (the `LEFT JOIN` matched).
pub(crate) fn has_child(row: &SqliteRow) -> Result<bool, StoreError> {
    Ok(get::<Option<Vec<u8>>>(row, "c_token_id")?.is_some())
}
