//! The in-memory reference store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::{
    Family, FamilyId, NewToken, RefreshToken, Revocation, RevokeReason, Rotation, TokenId,
    TokenState,
};
use crate::store::TokenStore;

const BACKEND: &str = "memory";

/// A [`TokenStore`] in process memory: the reference every backend is compared with.
///
/// One mutex guards everything, so each operation is trivially atomic. Nothing survives the
/// process; use it in tests and single-process demos. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Tables>>,
}

#[derive(Debug, Default)]
struct Tables {
    tokens: HashMap<TokenId, RefreshToken>,
    families: HashMap<FamilyId, Family>,
    by_subject: HashMap<String, Vec<FamilyId>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied operation: every
        // operation checks before it writes, and writes cannot panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tables {
    fn token(&self, subject: &str, id: TokenId) -> Option<&RefreshToken> {
        self.tokens.get(&id).filter(|t| t.subject == subject)
    }

    fn family(&self, subject: &str, id: FamilyId) -> Option<&Family> {
        self.families.get(&id).filter(|f| f.subject == subject)
    }

    fn revoke(&mut self, id: FamilyId, reason: RevokeReason, now: OffsetDateTime) -> u64 {
        match self.families.get_mut(&id) {
            Some(f) if f.revoked.is_none() => {
                f.revoked = Some(Revocation { at: now, reason });
                1
            }
            _ => 0,
        }
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()> {
        let mut t = self.lock();
        if t.families.contains_key(&family.id) || t.tokens.contains_key(&first.id) {
            return Err(Error::Conflict { backend: BACKEND });
        }
        t.tokens.insert(
            first.id,
            RefreshToken {
                id: first.id,
                family: family.id,
                subject: family.subject.clone(),
                issued_at: first.issued_at,
                expires_at: first.expires_at,
                consumed_at: None,
                parent: None,
                child: None,
            },
        );
        t.families.insert(family.id, family.clone());
        t.by_subject
            .entry(family.subject.clone())
            .or_default()
            .push(family.id);
        Ok(())
    }

    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation> {
        let mut t = self.lock();
        let Some(token) = t.token(subject, old) else {
            return Ok(Rotation::NotFound);
        };
        let Some(family) = t.families.get(&token.family).cloned() else {
            return Ok(Rotation::NotFound);
        };
        if family.revoked.is_some() {
            return Ok(Rotation::Revoked { family });
        }
        if token.expires_at <= now {
            return Ok(Rotation::Expired);
        }
        if let Some(consumed_at) = token.consumed_at {
            let child = token.child.and_then(|c| t.tokens.get(&c).cloned());
            return Ok(Rotation::Consumed {
                family,
                consumed_at,
                child,
            });
        }
        if t.tokens.contains_key(&new.id) {
            return Err(Error::Conflict { backend: BACKEND });
        }
        let record = RefreshToken {
            id: new.id,
            family: family.id,
            subject: family.subject.clone(),
            issued_at: new.issued_at,
            expires_at: new.expires_at,
            consumed_at: None,
            parent: Some(old),
            child: None,
        };
        t.tokens.insert(new.id, record);
        if let Some(token) = t.tokens.get_mut(&old) {
            token.consumed_at = Some(now);
            token.child = Some(new.id);
        }
        Ok(Rotation::Rotated { family })
    }

    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut t = self.lock();
        match t.token(subject, id).map(|tok| tok.family) {
            Some(family) => Ok(t.revoke(family, reason, now)),
            None => Ok(0),
        }
    }

    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut t = self.lock();
        if t.family(subject, family).is_none() {
            return Ok(0);
        }
        Ok(t.revoke(family, reason, now))
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut t = self.lock();
        let ids = t.by_subject.get(subject).cloned().unwrap_or_default();
        Ok(ids.into_iter().map(|id| t.revoke(id, reason, now)).sum())
    }

    async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>> {
        let t = self.lock();
        let Some(token) = t.token(subject, id) else {
            return Ok(None);
        };
        Ok(t.families.get(&token.family).map(|family| TokenState {
            token: token.clone(),
            family: family.clone(),
        }))
    }

    async fn family_status(&self, subject: &str, family: FamilyId) -> Result<Option<Family>> {
        Ok(self.lock().family(subject, family).cloned())
    }

    async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> Result<u64> {
        let mut t = self.lock();
        let batch = batch as usize;
        let dead: Vec<TokenId> = t
            .tokens
            .values()
            .filter(|tok| tok.expires_at <= now)
            .map(|tok| tok.id)
            .take(batch)
            .collect();
        for id in &dead {
            t.tokens.remove(id);
        }
        let mut deleted = dead.len();
        if deleted < batch {
            let mut live_families: std::collections::HashSet<FamilyId> =
                std::collections::HashSet::new();
            live_families.extend(t.tokens.values().map(|tok| tok.family));
            let empty: Vec<FamilyId> = t
                .families
                .keys()
                .filter(|id| !live_families.contains(id))
                .copied()
                .take(batch - deleted)
                .collect();
            for id in &empty {
                if let Some(f) = t.families.remove(id)
                    && let Some(list) = t.by_subject.get_mut(&f.subject)
                {
                    list.retain(|x| x != id);
                    if list.is_empty() {
                        t.by_subject.remove(&f.subject);
                    }
                }
            }
            deleted += empty.len();
        }
        Ok(deleted as u64)
    }
}
