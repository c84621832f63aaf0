//! [`SqliteStore`]: the [`TokenStore`] operations as SQL.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    Family, FamilyId, NewToken, Result, RevokeReason, Rotation, TokenId, TokenState, TokenStore,
};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{Row, Transaction};
use time::OffsetDateTime;
use tokio::sync::{Mutex, MutexGuard};

use crate::codec::{self, Prefix, family_blob, micros, token_blob};
use crate::error::StoreError;

/// A [`TokenStore`] on a SQLite database. Cheap to clone; clones share the pool.
///
/// Build it with [`SqliteStore::connect`] (which sets WAL, `synchronous=FULL` and
/// `busy_timeout`, and migrates), or hand [`SqliteStore::new`] a pool you configured
/// yourself, after running [`MIGRATOR`](crate::MIGRATOR) on it.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serializes this process's write transactions, so they queue in order here instead
    /// of polling SQLite's busy handler (which sleeps in growing steps). Other processes
    /// are still held off by the database's own write lock and `busy_timeout`.
    writes: Arc<Mutex<()>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// A write transaction holding both the in-process lock and SQLite's write lock.
///
/// Dropping it unfinished (an error, or the caller's future cancelled) rolls back: sqlx
/// queues the ROLLBACK on the connection before it can return to the pool. The fields drop
/// in order, so the rollback is queued before the next local writer may start.
struct WriteTx<'a> {
    tx: Transaction<'static, Sqlite>,
    _turn: MutexGuard<'a, ()>,
}

/// A pooled connection running one self-contained `BEGIN IMMEDIATE ... COMMIT` script,
/// which costs one trip to the connection's worker thread instead of one per statement.
///
/// A script that does not finish cleanly may leave the connection inside its transaction:
/// an error stops it at the failing statement, and a caller's future dropped mid-call makes
/// sqlx stop feeding it. Unless [`finish`](Self::finish) is reached, the connection is
/// therefore closed instead of pooled, and SQLite rolls the transaction back.
struct Script<'a> {
    conn: PoolConnection<Sqlite>,
    finished: bool,
    _turn: MutexGuard<'a, ()>,
}

impl Script<'_> {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Script<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

const SELECT_TOKEN: &str = "SELECT t.token_id, t.issued_at, t.expires_at, t.consumed_at, \
     t.parent_id, t.child_id, f.family_id, f.subject, f.long_term, f.created_at, \
     f.revoked_at, f.revoke_reason \
     FROM auth_refresh_tokens t JOIN auth_families f ON f.family_id = t.family_id \
     WHERE t.token_id = ?1 AND f.subject = ?2";

/// The whole compare-and-swap as one [`Script`]. `?1` old id, `?2` subject, `?3` now,
/// `?4` new id, `?5`/`?6` the new token's issued/expires times.
///
/// The UPDATE consumes the old token only if it exists for the subject, its family is not
/// revoked, it has not expired and is unconsumed; the INSERT stores the child only if that
/// UPDATE changed a row; the SELECT reports the old token, its family and its child as they
/// now are, and whether the INSERT happened (`changes()` of the last statement).
const ROTATE: &str = "\
BEGIN IMMEDIATE;
UPDATE auth_refresh_tokens SET consumed_at = ?3, child_id = ?4
WHERE token_id = ?1 AND consumed_at IS NULL AND expires_at > ?3
  AND EXISTS (SELECT 1 FROM auth_families f
              WHERE f.family_id = auth_refresh_tokens.family_id
                AND f.subject = ?2 AND f.revoked_at IS NULL);
INSERT INTO auth_refresh_tokens (token_id, family_id, issued_at, expires_at, parent_id)
SELECT ?4, family_id, ?5, ?6, ?1 FROM auth_refresh_tokens
WHERE token_id = ?1 AND changes() = 1;
SELECT changes() AS swapped,
       t.token_id, t.issued_at, t.expires_at, t.consumed_at, t.parent_id, t.child_id,
       f.family_id, f.subject, f.long_term, f.created_at, f.revoked_at, f.revoke_reason,
       c.token_id AS c_token_id, c.issued_at AS c_issued_at, c.expires_at AS c_expires_at,
       c.consumed_at AS c_consumed_at, c.parent_id AS c_parent_id, c.child_id AS c_child_id
FROM auth_refresh_tokens t
JOIN auth_families f ON f.family_id = t.family_id
LEFT JOIN auth_refresh_tokens c ON c.token_id = t.child_id
WHERE t.token_id = ?1 AND f.subject = ?2;
COMMIT";

/// A login as one [`Script`].
const INSERT_FAMILY: &str = "\
BEGIN IMMEDIATE;
INSERT INTO auth_families
    (family_id, subject, long_term, created_at, revoked_at, revoke_reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6);
INSERT INTO auth_refresh_tokens (token_id, family_id, issued_at, expires_at)
VALUES (?7, ?1, ?8, ?9);
COMMIT";

impl SqliteStore {
    /// A store on `pool`, which must already be migrated with [`MIGRATOR`](crate::MIGRATOR).
    ///
    /// For the durability this crate promises, open the pool's connections in WAL mode
    /// with `synchronous=FULL`, a `busy_timeout` and foreign keys on, as
    /// [`SqliteStoreOptions::connect_options`](crate::SqliteStoreOptions::connect_options)
    /// does.
    pub fn new(pool: SqlitePool) -> Self {
        SqliteStore {
            pool,
            writes: Arc::new(Mutex::new(())),
        }
    }

    /// Opens (creating if needed) and migrates the database at `url` (`sqlite://PATH`)
    /// with the default [`SqliteStoreOptions`](crate::SqliteStoreOptions).
    ///
    /// # Errors
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) if the file cannot be opened,
    /// [`Error::Backend`](auth_core::Error::Backend) for a bad URL or a failed migration.
    pub async fn connect(url: &str) -> Result<Self> {
        crate::SqliteStoreOptions::default().connect(url).await
    }

    /// The pool this store runs on.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<WriteTx<'_>, StoreError> {
        let turn = self.writes.lock().await;
        // IMMEDIATE takes the write lock before the first read: a deferred transaction
        // that reads and then writes gets SQLITE_BUSY at the upgrade whatever busy_timeout
        // says, and a read outside the lock could be stale by the time we write.
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Takes our write turn and a connection for a [`Script`].
    async fn script(&self) -> Result<Script<'_>, StoreError> {
        let turn = self.writes.lock().await;
        let conn = self.pool.acquire().await?;
        Ok(Script {
            conn,
            finished: false,
            _turn: turn,
        })
    }

    async fn insert(&self, family: &Family, first: &NewToken) -> Result<(), StoreError> {
        let mut script = self.script().await?;
        sqlx::query(INSERT_FAMILY)
            .bind(family_blob(family.id))
            .bind(&family.subject)
            .bind(family.long_term)
            .bind(micros(family.created_at))
            .bind(family.revoked.map(|r| micros(r.at)))
            .bind(family.revoked.map(|r| r.reason.as_str()))
            .bind(token_blob(first.id))
            .bind(micros(first.issued_at))
            .bind(micros(first.expires_at))
            .execute(&mut *script.conn)
            .await?;
        script.finish();
        Ok(())
    }

    async fn rotate_token(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        let mut script = self.script().await?;
        let rows = sqlx::query(ROTATE)
            .bind(token_blob(old))
            .bind(subject)
            .bind(micros(now))
            .bind(token_blob(new.id))
            .bind(micros(new.issued_at))
            .bind(micros(new.expires_at))
            .fetch_all(&mut *script.conn)
            .await?;
        script.finish();
        let Some(row) = rows.first() else {
            return Ok(Rotation::NotFound);
        };
        let family = codec::family(row)?;
        if row.try_get::<i64, _>("swapped")? == 1 {
            return Ok(Rotation::Rotated { family });
        }
        let token = codec::token(row, Prefix::Token, &family)?;
        Ok(if family.revoked.is_some() {
            Rotation::Revoked { family }
        } else if token.expires_at <= now {
            Rotation::Expired
        } else if let Some(consumed_at) = token.consumed_at {
            let child = if codec::has_child(row)? {
                Some(codec::token(row, Prefix::Child, &family)?)
            } else {
                None
            };
            Rotation::Consumed {
                family,
                consumed_at,
                child,
            }
        } else {
            return Err(StoreError::Invariant(
                "a live token was not consumed inside the write lock",
            ));
        })
    }

    /// Runs one revoking UPDATE as its own (autocommit) transaction, in our write turn.
    async fn revoke(
        &self,
        query: sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<u64, StoreError> {
        let _turn = self.writes.lock().await;
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    async fn status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>, StoreError> {
        let row = sqlx::query(SELECT_TOKEN)
            .bind(token_blob(id))
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
        let row = sqlx::query(
            "SELECT family_id, subject, long_term, created_at, revoked_at, revoke_reason \
             FROM auth_families WHERE family_id = ?1 AND subject = ?2",
        )
        .bind(family_blob(id))
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| codec::family(&row)).transpose()
    }

    async fn purge(&self, now: OffsetDateTime, batch: u32) -> Result<u64, StoreError> {
        let batch = i64::from(batch);
        let mut w = self.begin_write().await?;
        // Bounded: at most `batch` tokens, found through the expiry index.
        let emptied = sqlx::query(
            "DELETE FROM auth_refresh_tokens WHERE token_id IN \
             (SELECT token_id FROM auth_refresh_tokens WHERE expires_at <= ?1 \
              ORDER BY expires_at LIMIT ?2) \
             RETURNING family_id",
        )
        .bind(micros(now))
        .bind(batch)
        .fetch_all(&mut *w.tx)
        .await?;
        let tokens = emptied.len() as i64;
        let families: BTreeSet<Vec<u8>> = emptied
            .iter()
            .map(|row| row.try_get::<Vec<u8>, _>(0))
            .collect::<Result<_, _>>()?;
        for family in &families {
            // A family whose last token is gone can never gain one again (a rotation needs
            // a token of the family), so marking it is final.
            sqlx::query(
                "UPDATE auth_families SET purgeable = 1 WHERE family_id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM auth_refresh_tokens WHERE family_id = ?1)",
            )
            .bind(family.as_slice())
            .execute(&mut *w.tx)
            .await?;
        }
        let room = batch - tokens;
        let mut families_deleted = 0;
        if room > 0 {
            families_deleted = sqlx::query(
                "DELETE FROM auth_families WHERE family_id IN \
                 (SELECT family_id FROM auth_families WHERE purgeable = 1 LIMIT ?1)",
            )
            .bind(room)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        }
        w.tx.commit().await?;
        Ok(tokens as u64 + families_deleted)
    }
}

fn revoke_sql(
    sql: &'static str,
    reason: RevokeReason,
    now: OffsetDateTime,
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(sql).bind(micros(now)).bind(reason.as_str())
}

#[async_trait]
impl TokenStore for SqliteStore {
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
        let q = revoke_sql(
            "UPDATE auth_families SET revoked_at = ?1, revoke_reason = ?2 \
             WHERE subject = ?3 AND revoked_at IS NULL AND family_id = \
             (SELECT family_id FROM auth_refresh_tokens WHERE token_id = ?4)",
            reason,
            now,
        )
        .bind(subject.to_owned())
        .bind(token_blob(id));
        Ok(self.revoke(q).await?)
    }

    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let q = revoke_sql(
            "UPDATE auth_families SET revoked_at = ?1, revoke_reason = ?2 \
             WHERE subject = ?3 AND revoked_at IS NULL AND family_id = ?4",
            reason,
            now,
        )
        .bind(subject.to_owned())
        .bind(family_blob(family));
        Ok(self.revoke(q).await?)
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let q = revoke_sql(
            "UPDATE auth_families SET revoked_at = ?1, revoke_reason = ?2 \
             WHERE subject = ?3 AND revoked_at IS NULL",
            reason,
            now,
        )
        .bind(subject.to_owned());
        Ok(self.revoke(q).await?)
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
