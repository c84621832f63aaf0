//! The store: connections, key naming and the `TokenStore` operations.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId, TokenState, TokenStore,
};
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, ScriptInvocation};
use time::{Duration, OffsetDateTime};

use crate::codec::{
    decode_family, decode_state, decode_token, encode_family, encode_revocation, micros, ttl_ms,
};
use crate::connect::{self, ConnectOptions, Target};
use crate::error::StoreError;
use crate::keys::{SubjectKeys, escape_prefix, family_field};
use crate::scripts;

/// The two kinds of connection; both reconnect by themselves and are cheap to clone.
#[derive(Clone)]
pub(crate) enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A [`TokenStore`] in Redis or Redis Cluster. Cheap to clone; clones share connections.
///
/// See the [crate docs](crate) for the key layout, expiry and failure semantics.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: Arc<str>,
    retention: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.conn {
            Conn::Standalone(_) => "standalone",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("connection", &kind)
            .field("prefix", &self.prefix)
            .field("retention", &self.retention)
            .finish()
    }
}

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "auth:";

/// How long a record is kept after its `expires_at` by default (see
/// [`RedisStore::with_retention`]).
pub const DEFAULT_RETENTION: Duration = Duration::minutes(5);

impl RedisStore {
    /// A store on a single Redis server (use [`RedisStore::new_cluster`] for a cluster).
    ///
    /// The manager's timeouts are its own: give it a response timeout, or a server that
    /// stops answering blocks callers indefinitely ([`RedisStore::connect`] sets both).
    /// The eviction policy is not checked; see [`RedisStore::check_eviction_policy`].
    pub fn new(conn: ConnectionManager) -> Self {
        Self::with_conn(Conn::Standalone(conn))
    }

    /// A store on a Redis Cluster, through the async cluster client.
    pub fn new_cluster(conn: ClusterConnection) -> Self {
        Self::with_conn(Conn::Cluster(conn))
    }

    fn with_conn(conn: Conn) -> Self {
        RedisStore {
            conn,
            prefix: Arc::from(DEFAULT_PREFIX),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Connects to `redis://HOST:PORT[/DB]` or `redis-cluster://HOST:PORT[,HOST:PORT...]`
    /// with the default [`ConnectOptions`] (which warn on an evicting `maxmemory-policy`).
    ///
    /// # Errors
    /// [`Error::Backend`](auth_core::Error::Backend) for a malformed URL, a server older
    /// than Redis 7.0, or (with
    /// [`EvictionPolicyCheck::Refuse`](crate::EvictionPolicyCheck::Refuse)) an evicting
    /// policy; [`Error::Unavailable`](auth_core::Error::Unavailable) if the server cannot be
    /// reached in time.
    pub async fn connect(url: &str) -> auth_core::Result<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// Connects with explicit [`ConnectOptions`].
    ///
    /// # Errors
    /// As [`RedisStore::connect`].
    pub async fn connect_with(url: &str, options: ConnectOptions) -> auth_core::Result<Self> {
        let mut conn = match Target::parse(url)? {
            Target::Standalone(url) => Conn::Standalone(connect::standalone(&url, &options).await?),
            Target::Cluster(nodes) => Conn::Cluster(connect::cluster(&nodes, &options).await?),
        };
        connect::check_version(&mut conn).await?;
        connect::check_eviction_policy(&mut conn, options.eviction_policy_check()).await?;
        Ok(Self::with_conn(conn))
    }

    /// Reads `maxmemory-policy` and warns, or fails, if Redis may evict this store's keys.
    ///
    /// # Errors
    /// [`Error::Backend`](auth_core::Error::Backend) if `check` is
    /// [`Refuse`](crate::EvictionPolicyCheck::Refuse) and the policy evicts;
    /// [`Error::Unavailable`](auth_core::Error::Unavailable) if the server cannot be reached.
    pub async fn check_eviction_policy(
        &self,
        check: crate::EvictionPolicyCheck,
    ) -> auth_core::Result<()> {
        Ok(connect::check_eviction_policy(&mut self.conn.clone(), check).await?)
    }

    /// Puts every key under `prefix` (default `auth:`), so several stores (or tests) can
    /// share one Redis. `{` and `}` are escaped so the prefix cannot disturb the hash tag.
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(escape_prefix(prefix));
        self
    }

    /// How long records are kept after their `expires_at` (default 5 minutes). Meanwhile an
    /// expired token is reported as [`Rotation::Expired`], afterwards as
    /// [`Rotation::NotFound`]; both are refusals. The margin also absorbs the difference
    /// between the clock rates of the callers and of Redis.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::ZERO);
        self
    }

    fn keys(&self, subject: &str) -> SubjectKeys {
        SubjectKeys::new(&self.prefix, subject)
    }

    async fn run<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let reply = match &self.conn {
            Conn::Standalone(c) => invocation.invoke_async(&mut c.clone()).await,
            Conn::Cluster(c) => invocation.invoke_async(&mut c.clone()).await,
        };
        Ok(reply?)
    }

    async fn child_record(
        &self,
        keys: &SubjectKeys,
        subject: &str,
        child: &str,
    ) -> Result<Option<auth_core::RefreshToken>, StoreError> {
        if child.is_empty() {
            return Ok(None);
        }
        let id: TokenId = child
            .parse()
            .map_err(|_| StoreError::corrupt(format!("child id {child:?}")))?;
        let fields: Vec<String> = self.run(&scripts::TOKEN_RECORD.key(keys.token(id))).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        decode_token(id, subject, &fields).map(Some)
    }

    /// One script call; a second request only to read the child of a consumed token.
    async fn rotate_script(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        let keys = self.keys(subject);
        let ttl = ttl_ms(new.expires_at, now, self.retention);
        let mut invocation = scripts::ROTATE.prepare_invoke();
        invocation
            .key(keys.token(old))
            .key(keys.token(new.id))
            .key(keys.subject())
            .key(keys.expiry())
            .arg(old.to_string())
            .arg(new.id.to_string())
            .arg(micros(new.issued_at))
            .arg(micros(new.expires_at))
            .arg(micros(now))
            .arg(ttl);
        let reply: Vec<String> = self.run(&invocation).await?;
        let reply: Vec<&str> = reply.iter().map(String::as_str).collect();
        Ok(match reply.as_slice() {
            ["notfound"] => Rotation::NotFound,
            ["expired"] => Rotation::Expired,
            ["conflict"] => return Err(StoreError::Conflict),
            ["revoked", family, record, revocation] => Rotation::Revoked {
                family: decode_family(family, subject, record, revocation)?,
            },
            ["rotated", family, record] => Rotation::Rotated {
                family: decode_family(family, subject, record, "")?,
            },
            ["consumed", family, record, consumed_at, child] => {
                let family = decode_family(family, subject, record, "")?;
                let consumed_at = consumed_at
                    .parse::<i64>()
                    .ok()
                    .and_then(|us| {
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
                    })
                    .ok_or_else(|| StoreError::corrupt(format!("consumed_at {consumed_at:?}")))?;
                // The child's key is only known from the old token's record, so it is read
                // in a second request rather than inside the script (every key a script
                // touches must be declared up front). Nothing was written, and the child's
                // record is reported as stored when read, which is what the trait asks.
                let child = self.child_record(&keys, subject, child).await?;
                Rotation::Consumed {
                    family,
                    consumed_at,
                    child,
                }
            }
            other => return Err(StoreError::UnexpectedReply(other.join(" "))),
        })
    }
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> auth_core::Result<()> {
        let keys = self.keys(&family.subject);
        let ttl = ttl_ms(first.expires_at, first.issued_at, self.retention);
        let reply: String = self
            .run(
                scripts::INSERT_FAMILY
                    .key(keys.token(first.id))
                    .key(keys.subject())
                    .key(keys.expiry())
                    .arg(family_field(family.id))
                    .arg(encode_family(family))
                    .arg(micros(first.issued_at))
                    .arg(micros(first.expires_at))
                    .arg(ttl),
            )
            .await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "conflict" => Err(StoreError::Conflict.into()),
            _ => Err(StoreError::UnexpectedReply(reply).into()),
        }
    }

    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> auth_core::Result<Rotation> {
        Ok(self.rotate_script(subject, old, new, now).await?)
    }

    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        let keys = self.keys(subject);
        Ok(self
            .run(
                scripts::REVOKE_TOKEN
                    .key(keys.token(id))
                    .key(keys.subject())
                    .arg(encode_revocation(now, reason)),
            )
            .await?)
    }

    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        Ok(self
            .run(
                scripts::REVOKE_FAMILY
                    .key(self.keys(subject).subject())
                    .arg(family_field(family))
                    .arg(encode_revocation(now, reason)),
            )
            .await?)
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_core::Result<u64> {
        Ok(self
            .run(
                scripts::REVOKE_SUBJECT
                    .key(self.keys(subject).subject())
                    .arg(encode_revocation(now, reason)),
            )
            .await?)
    }

    async fn token_status(
        &self,
        subject: &str,
        id: TokenId,
    ) -> auth_core::Result<Option<TokenState>> {
        let keys = self.keys(subject);
        let reply: Vec<String> = self
            .run(
                scripts::TOKEN_STATUS
                    .key(keys.token(id))
                    .key(keys.subject()),
            )
            .await?;
        if reply.is_empty() {
            return Ok(None);
        }
        Ok(Some(decode_state(id, subject, &reply)?))
    }

    async fn family_status(
        &self,
        subject: &str,
        family: FamilyId,
    ) -> auth_core::Result<Option<Family>> {
        let id = family_field(family);
        let reply: Vec<String> = self
            .run(
                scripts::FAMILY_STATUS
                    .key(self.keys(subject).subject())
                    .arg(&id),
            )
            .await?;
        match reply.as_slice() {
            [] => Ok(None),
            [record, revocation] => Ok(Some(decode_family(&id, subject, record, revocation)?)),
            _ => Err(StoreError::UnexpectedReply(reply.join(" ")).into()),
        }
    }

    /// Always 0: every record carries a TTL at the latest time it can matter (a token its
    /// own expiry plus the retention; a family and a subject's hash their last token's), so
    /// Redis deletes them itself.
    async fn purge_expired(&self, _now: OffsetDateTime, _batch: u32) -> auth_core::Result<u64> {
        Ok(0)
    }
}
