//! How rows decode into records. Ids are `uuid`, times `timestamptz` (microseconds).

use auth_core::{Family, FamilyId, RefreshToken, Revocation, RevokeReason, TokenId};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

fn get<'r, T>(row: &'r PgRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    Ok(row.try_get(column)?)
}

/// Decodes the family columns `family_id, subject, long_term, created_at, revoked_at,
/// revoke_reason`.
pub(crate) fn family(row: &PgRow) -> Result<Family, StoreError> {
    let revoked_at: Option<OffsetDateTime> = get(row, "revoked_at")?;
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
        id: FamilyId::from_uuid(get(row, "family_id")?),
        subject: get(row, "subject")?,
        long_term: get(row, "long_term")?,
        created_at: get(row, "created_at")?,
        revoked,
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

/// Decodes the token columns `token_id, issued_at, expires_at, consumed_at, parent_id,
/// child_id` (named per `prefix`) of a token in `family`.
pub(crate) fn token(
    row: &PgRow,
    prefix: Prefix,
    family: &Family,
) -> Result<RefreshToken, StoreError> {
    let c = prefix.columns();
    Ok(RefreshToken {
        id: TokenId::from_uuid(get(row, c[0])?),
        family: family.id,
        subject: family.subject.clone(),
        issued_at: get(row, c[1])?,
        expires_at: get(row, c[2])?,
        consumed_at: get(row, c[3])?,
        parent: get::<Option<Uuid>>(row, c[4])?.map(TokenId::from_uuid),
        child: get::<Option<Uuid>>(row, c[5])?.map(TokenId::from_uuid),
    })
}

/// Whether the row carries a child token (the `LEFT JOIN` matched).
pub(crate) fn has_child(row: &PgRow) -> Result<bool, StoreError> {
    Ok(get::<Option<Uuid>>(row, "c_token_id")?.is_some())
}
