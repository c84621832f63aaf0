//! The suite bites: deliberately broken stores fail the checks meant to catch them.
//!
//! `MutantStore` is a minimal copy of `MemoryStore` with one optional defect. Unbroken it
//! passes the whole suite (module `faithful`), so each failure below comes from its defect.
//! Unlike `MemoryStore` it keys every record by (subject, id), as a store partitioned by
//! subject does: ids are unique per subject only, which the contract allows, and the suite
//! must accept it (auth-core runs the suite against `MemoryStore`, whose ids are global).
//! Every test runs every check against one mutant, prints which checks caught it, and
//! asserts that the checks responsible for that clause are among them.

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use auth_core::time::OffsetDateTime;
use auth_core::{
    DynTokenStore, Error, Family, FamilyId, NewToken, RefreshToken, Result, Revocation,
    RevokeReason, Rotation, TokenId, TokenState, TokenStore,
};
use auth_store_testkit as kit;
use futures::FutureExt;

/// The one defect a [`MutantStore`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    /// `rotate` checks under the lock, yields, then writes under a new lock.
    NonAtomicRotate,
    /// `rotate` reports `Expired` before `Revoked`.
    ExpiryBeforeRevocation,
    /// `purge_expired` also deletes consumed tokens that have not expired.
    PurgeDeletesConsumed,
    /// `revoke_subject` counts families that were already revoked.
    RevokeSubjectCountsRevoked,
    /// `revoke_family` checks under the lock, yields, then writes under a new lock.
    NonAtomicRevokeFamily,
    /// `insert_family` overwrites a family or token id the subject already has.
    InsertOverwrites,
    /// `rotate` overwrites a token id the subject already has with the new token.
    RotateOverwrites,
}

/// Records keyed by (subject, id).
#[derive(Debug, Default)]
struct Tables {
    tokens: HashMap<(String, TokenId), RefreshToken>,
    families: HashMap<(String, FamilyId), Family>,
}

impl Tables {
    fn token(&self, subject: &str, id: TokenId) -> Option<&RefreshToken> {
        self.tokens.get(&(subject.to_owned(), id))
    }

    fn family(&self, subject: &str, id: FamilyId) -> Option<&Family> {
        self.families.get(&(subject.to_owned(), id))
    }
}

#[derive(Debug)]
struct MutantStore {
    defect: Defect,
    tables: Mutex<Tables>,
}

fn store_with(defect: Defect) -> DynTokenStore {
    Arc::new(MutantStore {
        defect,
        tables: Mutex::new(Tables::default()),
    })
}

impl MutantStore {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `rotate` reports without changing anything, or `None` if `old` is live.
    fn refusal(
        &self,
        t: &Tables,
        subject: &str,
        old: TokenId,
        now: OffsetDateTime,
    ) -> Option<Rotation> {
        let Some(token) = t.token(subject, old) else {
            return Some(Rotation::NotFound);
        };
        let Some(family) = t.family(subject, token.family).cloned() else {
            return Some(Rotation::NotFound);
        };
        let expired = token.expires_at <= now;
        if self.defect == Defect::ExpiryBeforeRevocation && expired {
            return Some(Rotation::Expired);
        }
        if family.revoked.is_some() {
            return Some(Rotation::Revoked { family });
        }
        if expired {
            return Some(Rotation::Expired);
        }
        token.consumed_at.map(|consumed_at| Rotation::Consumed {
            family,
            consumed_at,
            child: token.child.and_then(|c| t.token(subject, c).cloned()),
        })
    }

    fn write_rotation(
        &self,
        t: &mut Tables,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation> {
        let Some(token) = t.token(subject, old).cloned() else {
            return Ok(Rotation::NotFound);
        };
        let Some(family) = t.family(subject, token.family).cloned() else {
            return Ok(Rotation::NotFound);
        };
        if self.defect != Defect::RotateOverwrites && t.token(subject, new.id).is_some() {
            return Err(Error::Conflict { backend: "mutant" });
        }
        t.tokens.insert(
            (subject.to_owned(), new.id),
            RefreshToken {
                id: new.id,
                family: family.id,
                subject: family.subject.clone(),
                issued_at: new.issued_at,
                expires_at: new.expires_at,
                consumed_at: None,
                parent: Some(old),
                child: None,
            },
        );
        if let Some(token) = t.tokens.get_mut(&(subject.to_owned(), old)) {
            token.consumed_at = Some(now);
            token.child = Some(new.id);
        }
        Ok(Rotation::Rotated { family })
    }

    fn revoke(
        t: &mut Tables,
        subject: &str,
        id: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> u64 {
        match t.families.get_mut(&(subject.to_owned(), id)) {
            Some(f) if f.revoked.is_none() => {
                f.revoked = Some(Revocation { at: now, reason });
                1
            }
            _ => 0,
        }
    }
}

#[async_trait]
impl TokenStore for MutantStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> Result<()> {
        let mut t = self.lock();
        let subject = family.subject.as_str();
        let taken = t.family(subject, family.id).is_some() || t.token(subject, first.id).is_some();
        if taken && self.defect != Defect::InsertOverwrites {
            return Err(Error::Conflict { backend: "mutant" });
        }
        t.tokens.insert(
            (subject.to_owned(), first.id),
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
        t.families
            .insert((subject.to_owned(), family.id), family.clone());
        Ok(())
    }

    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> Result<Rotation> {
        if self.defect == Defect::NonAtomicRotate {
            let refusal = self.refusal(&self.lock(), subject, old, now);
            if let Some(outcome) = refusal {
                return Ok(outcome);
            }
            // The lock is released here: another rotation can read the same live token.
            tokio::task::yield_now().await;
            return self.write_rotation(&mut self.lock(), subject, old, new, now);
        }
        let mut t = self.lock();
        match self.refusal(&t, subject, old, now) {
            Some(outcome) => Ok(outcome),
            None => self.write_rotation(&mut t, subject, old, new, now),
        }
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
            Some(family) => Ok(Self::revoke(&mut t, subject, family, reason, now)),
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
        let unrevoked = |t: &Tables| {
            t.family(subject, family)
                .is_some_and(|f| f.revoked.is_none())
        };
        if self.defect == Defect::NonAtomicRevokeFamily {
            if !unrevoked(&self.lock()) {
                return Ok(0);
            }
            // The lock is released here: another revocation can see the family unrevoked.
            tokio::task::yield_now().await;
            if let Some(f) = self.lock().families.get_mut(&(subject.to_owned(), family)) {
                f.revoked = Some(Revocation { at: now, reason });
            }
            return Ok(1);
        }
        let mut t = self.lock();
        if !unrevoked(&t) {
            return Ok(0);
        }
        Ok(Self::revoke(&mut t, subject, family, reason, now))
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut t = self.lock();
        let ids: Vec<FamilyId> = t
            .families
            .values()
            .filter(|f| f.subject == subject)
            .map(|f| f.id)
            .collect();
        let changed: u64 = ids
            .iter()
            .map(|id| Self::revoke(&mut t, subject, *id, reason, now))
            .sum();
        if self.defect == Defect::RevokeSubjectCountsRevoked {
            return Ok(ids.len() as u64);
        }
        Ok(changed)
    }

    async fn token_status(&self, subject: &str, id: TokenId) -> Result<Option<TokenState>> {
        let t = self.lock();
        let Some(token) = t.token(subject, id) else {
            return Ok(None);
        };
        Ok(t.family(subject, token.family).map(|family| TokenState {
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
        let purge_consumed = self.defect == Defect::PurgeDeletesConsumed;
        let dead: Vec<(String, TokenId)> = t
            .tokens
            .iter()
            .filter(|(_, tok)| {
                tok.expires_at <= now || (purge_consumed && tok.consumed_at.is_some())
            })
            .map(|(key, _)| key.clone())
            .take(batch)
            .collect();
        for key in &dead {
            t.tokens.remove(key);
        }
        let with_tokens: std::collections::HashSet<(String, FamilyId)> = t
            .tokens
            .values()
            .map(|tok| (tok.subject.clone(), tok.family))
            .collect();
        let empty: Vec<(String, FamilyId)> = t
            .families
            .keys()
            .filter(|key| !with_tokens.contains(*key))
            .take(batch - dead.len())
            .cloned()
            .collect();
        for key in &empty {
            t.families.remove(key);
        }
        Ok((dead.len() + empty.len()) as u64)
    }
}

/// The unbroken copy passes the whole suite, through the macro as a backend would use it.
mod faithful {
    async fn store() -> auth_core::DynTokenStore {
        super::store_with(super::Defect::None)
    }

    auth_store_testkit::conformance_tests!(store);

    /// An in-memory store has no second instance: both sides share one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn check_cross_instance_race() {
        let store = store().await;
        auth_store_testkit::check_cross_instance_race(store.clone(), store).await;
    }
}

/// The names of the checks that fail (panic) on a store with `defect`.
async fn caught_by(defect: Defect) -> BTreeSet<&'static str> {
    let mut caught = BTreeSet::new();
    for (name, check) in kit::single_store_checks() {
        if AssertUnwindSafe(check(store_with(defect)))
            .catch_unwind()
            .await
            .is_err()
        {
            caught.insert(name);
        }
    }
    let model = kit::check_matches_memory_model(|| async move { store_with(defect) });
    if AssertUnwindSafe(model).catch_unwind().await.is_err() {
        caught.insert("check_matches_memory_model");
    }
    println!("{defect:?} is caught by: {caught:#?}");
    caught
}

async fn assert_caught(defect: Defect, by: &[&str]) {
    let caught = caught_by(defect).await;
    for check in by {
        assert!(
            caught.contains(check),
            "{check} must fail on a store with {defect:?}; failing checks: {caught:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_atomic_rotate_is_caught() {
    assert_caught(
        Defect::NonAtomicRotate,
        &["check_concurrent_rotate_has_one_winner"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_before_revocation_is_caught() {
    assert_caught(
        Defect::ExpiryBeforeRevocation,
        &[
            "check_rotate_revoked_checked_first",
            "check_matches_memory_model",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_deleting_consumed_tokens_is_caught() {
    assert_caught(
        Defect::PurgeDeletesConsumed,
        &[
            "check_purge_keeps_what_reuse_detection_needs",
            "check_purge_removes_expired_records",
            "check_matches_memory_model",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_subject_counting_revoked_families_is_caught() {
    assert_caught(
        Defect::RevokeSubjectCountsRevoked,
        &[
            "check_revoke_subject_revokes_all_its_families",
            "check_revocation_keeps_first_reason",
            "check_matches_memory_model",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_atomic_revocation_is_caught() {
    assert_caught(
        Defect::NonAtomicRevokeFamily,
        &["check_concurrent_revocations_count_once"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insert_overwriting_the_subjects_ids_is_caught() {
    assert_caught(
        Defect::InsertOverwrites,
        &[
            "check_insert_duplicate_family_conflicts",
            "check_insert_duplicate_token_conflicts",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotate_overwriting_the_subjects_ids_is_caught() {
    assert_caught(
        Defect::RotateOverwrites,
        &["check_rotate_into_existing_id_conflicts"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_atomic_rotate_is_caught_across_instances() {
    let store = store_with(Defect::NonAtomicRotate);
    let race = kit::check_cross_instance_race(store.clone(), store);
    assert!(
        AssertUnwindSafe(race).catch_unwind().await.is_err(),
        "check_cross_instance_race must fail on a store with {:?}",
        Defect::NonAtomicRotate
    );
}

/// The cancellation check refuses to pass vacuously: an in-memory store finishes every
/// call on its first poll, so no call is ever cut short, and the check must say so rather
/// than report a store it never exercised as whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancellation_check_fails_when_nothing_is_cancelled() {
    let check = kit::check_cancelled_calls_leave_store_whole(store_with(Defect::None), async {});
    assert!(
        AssertUnwindSafe(check).catch_unwind().await.is_err(),
        "check_cancelled_calls_leave_store_whole passed without cancelling a call"
    );
}
