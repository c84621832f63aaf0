//! The storage contract every backend implements.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId, TokenState};

/// A shared, type-erased token store.
pub type DynTokenStore = Arc<dyn TokenStore>;

/// Durable state for refresh tokens and their families.
///
/// Backends store state; they do not decide. The policy (reuse grace, revoking a family on
/// reuse) lives once, in [`TokenService`](crate::TokenService). Every operation names tokens
/// by subject *and* id, so a backend may partition by subject; a token looked up under the
/// wrong subject does not exist.
///
/// Every method either completes durably or returns an error; an error other than
/// [`Error::Unavailable`](crate::Error::Unavailable) means a bug or schema problem. No
/// method reports "not found" for an outage. Times are kept to the microsecond.
///
/// The conformance suite in `auth-store-testkit` is the judge of these contracts, and
/// [`MemoryStore`](crate::MemoryStore) the reference implementation.
#[async_trait]
pub trait TokenStore: Debug + Send + Sync + 'static {
    /// Records a login: a new family and its first refresh token, atomically.
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) if the family or token id already exists
    /// for this subject; nothing is stored. Ids are random 122-bit UUIDs and every lookup
    /// names the subject, so uniqueness is only required per subject: whether a store also
    /// refuses an id held by *another* subject is unspecified (SQL primary keys do, Redis
    /// Cluster slots cannot see each other cheaply).
    async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()>;

    /// Exchanges `old` for `new`: ONE atomic compare-and-swap.
    ///
    /// Checks, in this order: the token exists for `subject` (else [`Rotation::NotFound`]);
    /// its family is not revoked (else [`Rotation::Revoked`]); `expires_at > now` (else
    /// [`Rotation::Expired`]); it is unconsumed (else [`Rotation::Consumed`] with its
    /// child's current record). Only when all hold is `old` marked consumed at `now` with
    /// child `new.id`, and `new` stored in the same family with parent `old`; otherwise
    /// nothing changes. Of any number of concurrent calls for one token, across processes,
    /// at most one returns [`Rotation::Rotated`].
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) if `new.id` already exists for this
    /// subject (nothing changes); across subjects, as for `insert_family`, unspecified.
    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation>;

    /// Revokes the family of token `id`. Returns how many families changed (0 if the
    /// token is unknown or its family was already revoked; the first reason is kept).
    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64>;

    /// Revokes one family. Returns 1 if it changed, 0 if unknown or already revoked.
    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64>;

    /// Revokes every unrevoked family of `subject` in one atomic step ("log out
    /// everywhere"). Returns how many changed. Families created afterwards are unaffected.
    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64>;

    /// The token and its family, or `None` if unknown for `subject` (or purged).
    async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>>;

    /// The family, or `None` if unknown for `subject` (or purged).
    async fn family_status(&self, subject: &str, family: FamilyId) -> Result<Option<Family>>;

    /// Deletes up to `batch` records that can no longer matter at `now`: tokens whose
    /// `expires_at <= now` (consumed or not: an expired token is refused before reuse
    /// matters), and families left with no token. Returns how many records were deleted,
    /// never more than `batch`; call again while it returns `batch`. Stores that expire
    /// records by TTL may return 0.
    async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> Result<u64>;
}

macro_rules! forward_store {
    ($($ptr:ty),*) => {$(
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: TokenStore + ?Sized> TokenStore for $ptr {
            async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()> {
                (**self).insert_family(family, first).await
            }
            async fn rotate(&self, subject: &str, old: TokenId, new: &NewToken, now: OffsetDateTime) -> Result<Rotation> {
                (**self).rotate(subject, old, new, now).await
            }
            async fn revoke_token(&self, subject: &str, id: TokenId, reason: RevokeReason, now: OffsetDateTime) -> Result<u64> {
                (**self).revoke_token(subject, id, reason, now).await
            }
            async fn revoke_family(&self, subject: &str, family: FamilyId, reason: RevokeReason, now: OffsetDateTime) -> Result<u64> {
                (**self).revoke_family(subject, family, reason, now).await
            }
            async fn revoke_subject(&self, subject: &str, reason: RevokeReason, now: OffsetDateTime) -> Result<u64> {
                (**self).revoke_subject(subject, reason, now).await
            }
            async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>> {
                (**self).token_status(subject, id).await
            }
            async fn family_status(&self, subject: &str, family: FamilyId) -> Result<Option<Family>> {
                (**self).family_status(subject, family).await
            }
            async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> Result<u64> {
                (**self).purge_expired(now, batch).await
            }
        }
    )*};
}

forward_store!(Arc<T>, Box<T>);
