//! [`PostgresStore`]: the [`TokenStore`] operations as SQL.

use std::fmt;

use async_trait::async_trait;
use auth_core::{
    Family, FamilyId, NewToken, Result, RevokeReason, Rotation, TokenId, TokenState, TokenStore,
};
use sqlx::Row;
use sqlx::postgres::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{self, Prefix};
use crate::error::StoreError;

/// A [`TokenStore`] on a PostgreSQL database. Cheap to clone; clones share the pool.
///
/// Build it with [`PostgresStore::connect`] (which migrates and sets short timeouts), or
/// hand [`PostgresStore::new`] a pool you configured yourself, after running
/// [`MIGRATOR`](crate::MIGRATOR) on it.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

const INSERT_FAMILY: &str = "\
WITH family AS (
    INSERT INTO auth_families
        (family_id, subject, long_term, created_at, revoked_at, revoke_reason)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING family_id
)
INSERT INTO auth_refresh_tokens (token_id, family_id, issued_at, expires_at)
SELECT $7, family_id, $8, $9 FROM family";

/// The whole rotation, as one statement. `$1` old id, `$2` subject, `$3` now, `$4` new
/// id, `$5`/`$6` the new token's issued/expires times.
///
/// `old` reads the token and its family from the statement's snapshot. `consumed` marks it
/// only if it is still unconsumed when the row lock is held (a concurrent winner's commit
/// is re-checked here), and `child` inserts the new token only if that update took. The
/// final SELECT returns the snapshot state, whether the swap happened, and the current
/// child of an already consumed token (committed together with `consumed_at`, so visible in
/// the same snapshot).
const ROTATE: &str = "\
WITH old AS (
    SELECT t.token_id, t.issued_at, t.expires_at, t.consumed_at, t.parent_id, t.child_id,
           f.family_id, f.subject, f.long_term, f.created_at, f.revoked_at, f.revoke_reason
    FROM auth_refresh_tokens t
    JOIN auth_families f ON f.family_id = t.family_id
    WHERE t.token_id = $1 AND f.subject = $2
), consumed AS (
    UPDATE auth_refresh_tokens t
    SET consumed_at = $3, child_id = $4
    FROM old
    WHERE t.token_id = old.token_id
      AND old.revoked_at IS NULL
      AND t.expires_at > $3
      AND t.consumed_at IS NULL
    RETURNING t.family_id
), child AS (
    INSERT INTO auth_refresh_tokens (token_id, family_id, issued_at, expires_at, parent_id)
    SELECT $4, family_id, $5, $6, $1 FROM consumed
    RETURNING token_id
)
SELECT old.*,
       (SELECT count(*) FROM child) AS swapped,
       c.token_id AS c_token_id, c.issued_at AS c_issued_at, c.expires_at AS c_expires_at,
       c.consumed_at AS c_consumed_at, c.parent_id AS c_parent_id, c.child_id AS c_child_id
FROM old
LEFT JOIN auth_refresh_tokens c ON c.token_id = old.child_id";

const SELECT_TOKEN: &str = "\
SELECT t.token_id, t.issued_at, t.expires_at, t.consumed_at, t.parent_id, t.child_id,
       f.family_id, f.subject, f.long_term, f.created_at, f.revoked_at, f.revoke_reason
FROM auth_refresh_tokens t
JOIN auth_families f ON f.family_id = t.family_id
WHERE t.token_id = $1 AND f.subject = $2";

const SELECT_FAMILY: &str = "\
SELECT family_id, subject, long_term, created_at, revoked_at, revoke_reason
FROM auth_families WHERE family_id = $1 AND subject = $2";

const REVOKE_TOKEN: &str = "\
UPDATE auth_families SET revoked_at = $1, revoke_reason = $2
WHERE subject = $3 AND revoked_at IS NULL
  AND family_id = (SELECT family_id FROM auth_refresh_tokens WHERE token_id = $4)";

const REVOKE_FAMILY: &str = "\
UPDATE auth_families SET revoked_at = $1, revoke_reason = $2
WHERE subject = $3 AND revoked_at IS NULL AND family_id = $4";

const REVOKE_SUBJECT: &str = "\
UPDATE auth_families SET revoked_at = $1, revoke_reason = $2
WHERE subject = $3 AND revoked_at IS NULL";

/// At most `$2` expired tokens, through the expiry index; rows an in-flight rotation holds
/// are left for the next call instead of waited for.
const PURGE_TOKENS: &str = "\
DELETE FROM auth_refresh_tokens WHERE token_id IN (
    SELECT token_id FROM auth_refresh_tokens
    WHERE expires_at <= $1
    ORDER BY expires_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING family_id";

/// A family whose last token is gone can never gain one again (a rotation needs a token of
/// the family), so marking it is final.
const MARK_EMPTY_FAMILIES: &str = "\
UPDATE auth_families f SET purgeable = true
WHERE f.family_id = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM auth_refresh_tokens t WHERE t.family_id = f.family_id)";

const PURGE_FAMILIES: &str = "\
DELETE FROM auth_families WHERE family_id IN (
    SELECT family_id FROM auth_families WHERE purgeable LIMIT $1 FOR UPDATE SKIP LOCKED
)";

/// How often a rotation re-runs after losing a race. One re-run always suffices (the fresh
/// snapshot sees the winner's commit); the rest absorb serialization aborts on databases
/// whose default isolation is stricter than READ COMMITTED.
const ROTATE_ATTEMPTS: usize = 4;

impl PostgresStore {
    /// A store on `pool`, which must already be migrated with [`MIGRATOR`](crate::MIGRATOR).
    pub fn new(pool: PgPool) -> Self {
        PostgresStore { pool }
    }

    /// Connects to `url` (`postgres://...`) and migrates, with the default
    /// [`PostgresStoreOptions`](crate::PostgresStoreOptions).
    ///
    /// # Errors
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) if the server cannot be
    /// reached in time, [`Error::Backend`](auth_core::Error::Backend) for a bad URL or a
    /// failed migration.
    pub async fn connect(url: &str) -> Result<Self> {
        crate::PostgresStoreOptions::default().connect(url).await
    }

    /// The pool this store runs on.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn insert(&self, family: &Family, first: &NewToken) -> Result<(), StoreError> {
        let inserted = sqlx::query(INSERT_FAMILY)
            .bind(family.id.as_uuid())
            .bind(&family.subject)
            .bind(family.long_term)
            .bind(family.created_at)
            .bind(family.revoked.map(|r| r.at))
            .bind(family.revoked.map(|r| r.reason.as_str()))
            .bind(first.id.as_uuid())
            .bind(first.issued_at)
            .bind(first.expires_at)
            .execute(&self.pool)
            .await?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::Invariant("a login inserted no token"));
        }
        Ok(())
    }

    async fn rotate_token(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        for _ in 0..ROTATE_ATTEMPTS {
            match self.try_rotate(subject, old, new, now).await {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(e) if e.is_concurrency_abort() => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Invariant(
            "rotation kept seeing a live token that it could not consume",
        ))
    }

    /// One run of [`ROTATE`]; `None` when a concurrent rotation won between our snapshot
    /// and our row lock, so the caller must look again.
    async fn try_rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Option<Rotation>, StoreError> {
        let row = sqlx::query(ROTATE)
            .bind(old.as_uuid())
            .bind(subject)
            .bind(now)
            .bind(new.id.as_uuid())
            .bind(new.issued_at)
            .bind(new.expires_at)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Some(Rotation::NotFound));
        };
        let family = codec::family(&row)?;
        let swapped: i64 = row.try_get("swapped")?;
        if swapped == 1 {
            return Ok(Some(Rotation::Rotated { family }));
        }
        let token = codec::token(&row, Prefix::Token, &family)?;
        let outcome = if family.revoked.is_some() {
            Rotation::Revoked { family }
        } else if token.expires_at <= now {
            Rotation::Expired
        } else if let Some(consumed_at) = token.consumed_at {
            let child = if codec::has_child(&row)? {
                Some(codec::token(&row, Prefix::Child, &family)?)
            } else {
                None
            };
            Rotation::Consumed {
                family,
                consumed_at,
                child,
            }
        } else {
            return Ok(None);
        };
        Ok(Some(outcome))
    }

    async fn revoke(
        &self,
        sql: &'static str,
        reason: RevokeReason,
        now: OffsetDateTime,
        subject: &str,
        id: Option<&Uuid>,
    ) -> Result<u64, StoreError> {
        let mut query = sqlx::query(sql)
            .bind(now)
            .bind(reason.as_str())
            .bind(subject);
        if let Some(id) = id {
            query = query.bind(id);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    async fn status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>, StoreError> {
        let row = sqlx::query(SELECT_TOKEN)
            .bind(id.as_uuid())
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let family = codec::family(&row)?;
            let token = codec::token(&row, Prefix::Token, &family)?;
            Ok(TokenState { token, family })
        })
        .transpose()
    }

    async fn family(&self, subject: &str, id: FamilyId) -> Result<Option<Family>, StoreError> {
        let row = sqlx::query(SELECT_FAMILY)
            .bind(id.as_uuid())
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| codec::family(&row)).transpose()
    }

    async fn purge(&self, now: OffsetDateTime, batch: u32) -> Result<u64, StoreError> {
        let batch = i64::from(batch);
        // A transaction so the emptiness check sees our own deletions; sqlx rolls it back
        // if this future is dropped before the commit.
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(PURGE_TOKENS)
            .bind(now)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        let tokens = rows.len() as i64;
        let mut families: Vec<Uuid> = rows
            .iter()
            .map(|row| row.try_get::<Uuid, _>(0))
            .collect::<Result<_, _>>()?;
        families.sort_unstable();
        families.dedup();
        if !families.is_empty() {
            sqlx::query(MARK_EMPTY_FAMILIES)
                .bind(&families)
                .execute(&mut *tx)
                .await?;
        }
        let room = batch - tokens;
        let mut families_deleted = 0;
        if room > 0 {
            families_deleted = sqlx::query(PURGE_FAMILIES)
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(tokens as u64 + families_deleted)
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()> {
        Ok(self.insert(family, first).await?)
    }

    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation> {
        Ok(self.rotate_token(subject, old, new, now).await?)
    }

    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let id = id.as_uuid();
        Ok(self
            .revoke(REVOKE_TOKEN, reason, now, subject, Some(id))
            .await?)
    }

    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let id = family.as_uuid();
        Ok(self
            .revoke(REVOKE_FAMILY, reason, now, subject, Some(id))
            .await?)
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        Ok(self
            .revoke(REVOKE_SUBJECT, reason, now, subject, None)
            .await?)
    }

    async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>> {
        Ok(self.status(subject, id).await?)
    }

    async fn family_status(&self, subject: &str, family: FamilyId) -> Result<Option<Family>> {
        Ok(self.family(subject, family).await?)
    }

    async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> Result<u64> {
        Ok(self.purge(now, batch).await?)
    }
}
