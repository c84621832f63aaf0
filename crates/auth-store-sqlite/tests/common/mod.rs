//! A fresh SQLite store per call: its own database file in its own temporary folder.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    DynTokenStore, Family, FamilyId, NewToken, Result, RevokeReason, Rotation, TokenId, TokenState,
    TokenStore,
};
use auth_store_sqlite::SqliteStore;
use time::OffsetDateTime;

/// A store whose database file lives as long as the store.
#[derive(Debug)]
pub struct TempStore {
    pub store: SqliteStore,
    pub dir: tempfile::TempDir,
}

impl TempStore {
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("tokens.db").display())
    }
}

pub async fn temp_store() -> TempStore {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary folder for the SQLite test database: {e}"),
    };
    let url = format!("sqlite://{}", dir.path().join("tokens.db").display());
    match SqliteStore::connect(&url).await {
        Ok(store) => TempStore { store, dir },
        Err(e) => panic!("cannot open SQLite database {url}: {e:?}"),
    }
}

pub async fn store() -> DynTokenStore {
    Arc::new(temp_store().await)
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl TokenStore for TempStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()> {
        self.store.insert_family(family, first).await
    }
    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation> {
        self.store.rotate(subject, old, new, now).await
    }
    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.store.revoke_token(subject, id, reason, now).await
    }
    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.store.revoke_family(subject, family, reason, now).await
    }
    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.store.revoke_subject(subject, reason, now).await
    }
    async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>> {
        self.store.token_status(subject, id).await
    }
    async fn family_status(&self, subject: &str, family: FamilyId) -> Result<Option<Family>> {
        self.store.family_status(subject, family).await
    }
    async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> Result<u64> {
        self.store.purge_expired(now, batch).await
    }
}
