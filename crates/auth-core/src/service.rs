//! The token policy: login, rotation with reuse detection, revocation, verification.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::claims::{ACCESS_AUDIENCE, AccessClaims, REFRESH_AUDIENCE, RefreshClaims, RefreshKind};
use crate::clock::{Clock, SystemClock, to_micros};
use crate::error::{Error, Rejection, Result};
use crate::jwt;
use crate::keys::KeySet;
use crate::model::{Family, FamilyId, NewToken, RefreshToken, RevokeReason, Rotation, TokenId};
use crate::store::DynTokenStore;

/// Lifetimes and tolerances. The defaults are those of the HTTP contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Access token lifetime (default 15 min).
    pub access_ttl: Duration,
    /// Short-term refresh token lifetime (default 75 min).
    pub refresh_ttl: Duration,
    /// Long-term refresh token lifetime (default 14 days).
    pub long_refresh_ttl: Duration,
    /// How long after a rotation the same refresh token may be presented again and get the
    /// same answer instead of revoking the family (default 0: no grace).
    pub reuse_grace: Duration,
    /// Clock skew accepted on `exp` and `nbf` (default 5 s).
    pub leeway: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::minutes(75),
            long_refresh_ttl: Duration::days(14),
            reuse_grace: Duration::ZERO,
            leeway: Duration::seconds(5),
        }
    }
}

impl Config {
    /// Sets the access token lifetime.
    pub fn with_access_ttl(mut self, value: Duration) -> Self {
        self.access_ttl = value;
        self
    }

    /// Sets the short-term refresh token lifetime.
    pub fn with_refresh_ttl(mut self, value: Duration) -> Self {
        self.refresh_ttl = value;
        self
    }

    /// Sets the long-term refresh token lifetime.
    pub fn with_long_refresh_ttl(mut self, value: Duration) -> Self {
        self.long_refresh_ttl = value;
        self
    }

    /// Sets the reuse grace.
    pub fn with_reuse_grace(mut self, value: Duration) -> Self {
        self.reuse_grace = value;
        self
    }

    /// Sets the clock-skew leeway.
    pub fn with_leeway(mut self, value: Duration) -> Self {
        self.leeway = value;
        self
    }

    /// The longest lifetime, grace or leeway accepted: far beyond any sane setting, and far
    /// inside what `time` and JWT integer seconds can represent.
    pub const MAX_DURATION: Duration = Duration::days(100 * 366);

    /// Checks that every lifetime is positive, grace and leeway are not negative, and none
    /// exceeds [`Config::MAX_DURATION`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the first offending setting.
    pub fn validate(&self) -> Result<()> {
        let settings = [
            ("access_ttl", self.access_ttl, false),
            ("refresh_ttl", self.refresh_ttl, false),
            ("long_refresh_ttl", self.long_refresh_ttl, false),
            ("reuse_grace", self.reuse_grace, true),
            ("leeway", self.leeway, true),
        ];
        for (name, value, zero_ok) in settings {
            let too_small = if zero_ok {
                value.is_negative()
            } else {
                value < Duration::SECOND
            };
            if too_small || value > Self::MAX_DURATION {
                return Err(Error::Config(format!(
                    "{name} must be between {} and 100 years, not {value}",
                    if zero_ok { "0s" } else { "1s" }
                )));
            }
        }
        Ok(())
    }

    fn refresh_ttl_for(&self, kind: RefreshKind) -> Duration {
        match kind {
            RefreshKind::ShortTerm => self.refresh_ttl,
            RefreshKind::LongTerm => self.long_refresh_ttl,
        }
    }
}

/// A freshly minted access/refresh pair.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// The signed refresh token.
    pub refresh_token: String,
    /// The access token's claims.
    pub access: AccessClaims,
    /// The refresh token's claims.
    pub refresh: RefreshClaims,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &self.access)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl TokenPair {
    /// Seconds until the access token expires, counted from its issue.
    pub fn expires_in(&self) -> i64 {
        self.access.exp - self.access.iat
    }
}

/// What introspection found (RFC 7662).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    /// Not a token we issued, or no longer usable.
    Inactive,
    /// A live refresh token: unconsumed, unexpired, family not revoked.
    Refresh(RefreshClaims),
    /// A live access token: unexpired, family not revoked.
    Access(AccessClaims),
}

/// Issues and rotates token pairs over a [`TokenStore`](crate::TokenStore). Cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenService {
    keys: Arc<KeySet>,
    store: DynTokenStore,
    clock: Arc<dyn Clock>,
    config: Config,
}

impl TokenService {
    /// A service with the default [`Config`] and the system clock.
    pub fn new(keys: KeySet, store: DynTokenStore) -> Self {
        TokenService {
            keys: Arc::new(keys),
            store,
            clock: Arc::new(SystemClock),
            config: Config::default(),
        }
    }

    /// Replaces the configuration. Call [`Config::validate`] first on values from users: an
    /// out-of-range lifetime makes every login fail with [`Error::Config`].
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Replaces the clock (tests use [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The store.
    pub fn store(&self) -> &DynTokenStore {
        &self.store
    }

    fn now(&self) -> OffsetDateTime {
        to_micros(self.clock.now())
    }

    /// Starts a new session (family) for `subject`, who has already been authenticated.
    /// Other sessions of the same subject are untouched.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the store cannot record the session; no tokens are issued.
    pub async fn login(&self, subject: &str, kind: RefreshKind) -> Result<TokenPair> {
        let now = self.now();
        let issued_at = whole_seconds(now);
        let family = Family {
            id: FamilyId::random(),
            subject: subject.to_owned(),
            long_term: kind.is_long_term(),
            created_at: now,
            revoked: None,
        };
        let first = NewToken {
            id: TokenId::random(),
            issued_at,
            expires_at: later(issued_at, self.config.refresh_ttl_for(kind))?,
        };
        self.store.insert_family(&family, &first).await?;
        self.mint(subject, family.id, kind, &first)
    }

    /// Exchanges a refresh token for a new pair (DESIGN.md section 3).
    ///
    /// The old token is consumed atomically. Presenting a consumed token again revokes its
    /// family, unless it comes within `reuse_grace` of the exchange and that exchange's
    /// child is still unused: then the child is re-minted unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for any token that must not be honoured (with
    /// [`Rejection::Reused`] after the family was durably revoked);
    /// [`Error::Unavailable`] when the store cannot answer.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let now = self.now();
        let claims = self.verify_refresh_at(refresh_token, now)?;
        let kind = claims.short_term_expiration;
        let subject = claims.unique_name.as_str();
        let issued_at = whole_seconds(now);
        let new = NewToken {
            id: TokenId::random(),
            issued_at,
            expires_at: later(issued_at, self.config.refresh_ttl_for(kind))?,
        };
        match self
            .store
            .rotate(subject, claims.token_id, &new, now)
            .await?
        {
            Rotation::Rotated { family } => self.mint(subject, family.id, kind, &new),
            Rotation::Consumed {
                family,
                consumed_at,
                child,
            } => {
                if let Some(child) = child.filter(|c| self.in_grace(consumed_at, c, now)) {
                    let kind = RefreshKind::from_long_term(family.long_term);
                    return self.remint(subject, family.id, kind, &child);
                }
                self.store
                    .revoke_family(subject, family.id, RevokeReason::Reuse, now)
                    .await?;
                tracing::warn!(family = %family.id, "refresh token reused; family revoked");
                Err(Rejection::Reused.into())
            }
            Rotation::Revoked { .. } => Err(Rejection::Revoked.into()),
            Rotation::Expired => Err(Rejection::Expired.into()),
            Rotation::NotFound => Err(Rejection::Unknown.into()),
        }
    }

    fn in_grace(
        &self,
        consumed_at: OffsetDateTime,
        child: &RefreshToken,
        now: OffsetDateTime,
    ) -> bool {
        self.config.reuse_grace > Duration::ZERO
            && now - consumed_at <= self.config.reuse_grace
            && child.consumed_at.is_none()
            && child.expires_at > now
    }

    /// Revokes the family of a refresh token (RFC 7009). Returns how many families changed.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if the token does not verify (expiry is not checked: an
    /// expired token may still be revoked); [`Error::Unavailable`] from the store.
    pub async fn revoke(&self, refresh_token: &str) -> Result<u64> {
        let claims: RefreshClaims = jwt::verify(&self.keys, refresh_token)?;
        self.store
            .revoke_token(
                &claims.unique_name,
                claims.token_id,
                RevokeReason::Revoked,
                self.now(),
            )
            .await
    }

    /// Revokes one family of `subject`. Returns how many families changed (0 or 1).
    ///
    /// # Errors
    /// [`Error::Unavailable`] from the store.
    pub async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
    ) -> Result<u64> {
        self.store
            .revoke_family(subject, family, reason, self.now())
            .await
    }

    /// Revokes every family of `subject` ("log out everywhere").
    ///
    /// # Errors
    /// [`Error::Unavailable`] from the store.
    pub async fn revoke_subject(&self, subject: &str, reason: RevokeReason) -> Result<u64> {
        self.store.revoke_subject(subject, reason, self.now()).await
    }

    /// Logs out the session of a verified access token, or every session of its user.
    ///
    /// # Errors
    /// [`Error::Unavailable`] from the store.
    pub async fn logout(&self, access: &AccessClaims, everywhere: bool) -> Result<u64> {
        if everywhere {
            self.revoke_subject(&access.unique_name, RevokeReason::Logout)
                .await
        } else {
            self.revoke_family(&access.unique_name, access.sid, RevokeReason::Logout)
                .await
        }
    }

    /// Verifies an access token offline: signature, key, algorithm, audience and time.
    /// Revocation is not checked; see [`TokenService::verify_access_live`].
    ///
    /// # Errors
    /// [`Error::InvalidToken`].
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims> {
        let claims: AccessClaims = jwt::verify(&self.keys, token)?;
        jwt::check_time(&claims, self.now().unix_timestamp(), self.leeway())?;
        Ok(claims)
    }

    /// Verifies an access token and checks that its session (`sid`) is still known and not
    /// revoked, so a logout bites at once.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] (with [`Rejection::Revoked`] for a revoked session);
    /// [`Error::Unavailable`] from the store.
    pub async fn verify_access_live(&self, token: &str) -> Result<AccessClaims> {
        let claims = self.verify_access(token)?;
        match self
            .store
            .family_status(&claims.unique_name, claims.sid)
            .await?
        {
            Some(f) if f.revoked.is_none() => Ok(claims),
            _ => Err(Rejection::Revoked.into()),
        }
    }

    /// Verifies a refresh token's signature, audience and time, without consulting the store.
    ///
    /// # Errors
    /// [`Error::InvalidToken`].
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims> {
        self.verify_refresh_at(token, self.now())
    }

    fn verify_refresh_at(&self, token: &str, now: OffsetDateTime) -> Result<RefreshClaims> {
        let claims: RefreshClaims = jwt::verify(&self.keys, token)?;
        jwt::check_time(&claims, now.unix_timestamp(), self.leeway())?;
        Ok(claims)
    }

    /// RFC 7662 introspection of either token kind.
    ///
    /// # Errors
    /// Only [`Error::Unavailable`] (and backend bugs): an invalid token is
    /// [`Introspection::Inactive`].
    pub async fn introspect(&self, token: &str) -> Result<Introspection> {
        let now = self.now();
        if let Ok(claims) = self.verify_refresh_at(token, now) {
            let live = self
                .store
                .token_status(&claims.unique_name, claims.token_id)
                .await?
                .is_some_and(|s| s.is_live(now));
            return Ok(if live {
                Introspection::Refresh(claims)
            } else {
                Introspection::Inactive
            });
        }
        match self.verify_access_live(token).await {
            Ok(claims) => Ok(Introspection::Access(claims)),
            Err(Error::InvalidToken(_)) => Ok(Introspection::Inactive),
            Err(e) => Err(e),
        }
    }

    /// The JWKS document of every key (signing and verify-only).
    pub fn jwks(&self) -> &serde_json::Value {
        self.keys.jwks()
    }

    /// Deletes records that can no longer matter, in batches of `batch`, until none is
    /// left. Returns how many were deleted.
    ///
    /// # Errors
    /// [`Error::Unavailable`] from the store (what was purged so far stays purged).
    pub async fn purge_expired(&self, batch: u32) -> Result<u64> {
        let now = self.now();
        let mut total = 0;
        loop {
            let n = self.store.purge_expired(now, batch).await?;
            total += n;
            if n < u64::from(batch) || batch == 0 {
                return Ok(total);
            }
        }
    }

    fn leeway(&self) -> i64 {
        self.config.leeway.whole_seconds()
    }

    fn mint(
        &self,
        subject: &str,
        family: FamilyId,
        kind: RefreshKind,
        token: &NewToken,
    ) -> Result<TokenPair> {
        let iat = token.issued_at.unix_timestamp();
        let refresh = RefreshClaims {
            unique_name: subject.to_owned(),
            token_id: token.id,
            short_term_expiration: kind,
            nbf: iat,
            exp: token.expires_at.unix_timestamp(),
            iat,
            aud: REFRESH_AUDIENCE.to_owned(),
        };
        let access = AccessClaims {
            unique_name: subject.to_owned(),
            sid: family,
            nbf: iat,
            exp: later(token.issued_at, self.config.access_ttl)?.unix_timestamp(),
            iat,
            aud: ACCESS_AUDIENCE.to_owned(),
        };
        let signer = self.keys.signing_key();
        Ok(TokenPair {
            access_token: jwt::encode(signer, &access)?,
            refresh_token: jwt::encode(signer, &refresh)?,
            access,
            refresh,
        })
    }

    fn remint(
        &self,
        subject: &str,
        family: FamilyId,
        kind: RefreshKind,
        child: &RefreshToken,
    ) -> Result<TokenPair> {
        let token = NewToken {
            id: child.id,
            issued_at: child.issued_at,
            expires_at: child.expires_at,
        };
        self.mint(subject, family, kind, &token)
    }
}

/// `from + ttl`, or a configuration error instead of an overflow panic.
fn later(from: OffsetDateTime, ttl: Duration) -> Result<OffsetDateTime> {
    from.checked_add(ttl)
        .ok_or_else(|| Error::Config(format!("lifetime {ttl} is out of range")))
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}
