//! `purge_expired`.
//!
//! The trait lets a store that expires records by TTL return 0 from `purge_expired` and
//! delete nothing there. So these checks accept two behaviours and reject everything in
//! between:
//! - a store that reports deletions (count > 0) must have deleted exactly the records that
//!   can no longer matter, and its count must be exact and within the batch;
//! - a store that reports 0 must have changed nothing (its TTLs run on real time, and
//!   every record of the suite outlives the check in real time: see [`epoch`]).
//!
//! Under both, what reuse detection needs stays: live tokens, consumed tokens until their
//! own expiry (so presenting one again is still `Consumed`), and their families.

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{DynTokenStore, FamilyId, RevokeReason, Rotation, TokenId};

use crate::fixtures::{Login, TOKEN_TTL, epoch, whole_seconds};
use crate::support::{Fixture, Observed};

/// A store with records of every kind, and what `purge_expired(at)` may and may not
/// delete.
struct Scene {
    at: OffsetDateTime,
    /// Tokens and families that must be reported exactly as before the purge.
    keep_tokens: Vec<TokenId>,
    keep_families: Vec<FamilyId>,
    /// Tokens with `expires_at <= at`, and families all of whose tokens are such.
    expired_tokens: Vec<TokenId>,
    empty_families: Vec<FamilyId>,
    /// A consumed, unexpired token and its child: reuse of it must stay detectable.
    consumed: (TokenId, TokenId),
    /// A live token of a revoked family.
    revoked: TokenId,
}

/// Every subject is "alice". Tokens of the default lifetime expire exactly at
/// `whole_seconds(t) + TOKEN_TTL`, which is when the scene is purged.
async fn scene(fx: &mut Fixture) -> Scene {
    let t = epoch();
    let at = whole_seconds(t) + TOKEN_TTL;
    let long = TOKEN_TTL * 3;
    let used_at = t + Duration::minutes(10);

    let live = fx.login_for("alice", t, long).await;
    let one_second_left = fx
        .login_for("alice", t, TOKEN_TTL + Duration::seconds(1))
        .await;
    let consumed = fx.login_for("alice", t, long).await;
    let consumed_child = fx
        .rotate_for("alice", consumed.first.id, used_at, long)
        .await;
    let mixed = fx.login("alice", t).await;
    let mixed_child = fx.rotate_for("alice", mixed.first.id, used_at, long).await;
    let revoked = fx.login_for("alice", t, long).await;
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", revoked.family.id, RevokeReason::Logout, used_at)
            .await,
    );
    assert_eq!(changed, 1, "purge: setup revoke_family must revoke");
    // Expires exactly at `at`: `expires_at <= now` includes the boundary.
    let expired = fx.login("alice", t).await;
    let chain = fx.login("alice", t).await;
    let chain_child = fx
        .rotate_for("alice", chain.first.id, used_at, Duration::minutes(30))
        .await;

    let families = |ls: &[&Login]| ls.iter().map(|l| l.family.id).collect();
    Scene {
        at,
        keep_tokens: vec![
            live.first.id,
            one_second_left.first.id,
            consumed.first.id,
            consumed_child.id,
            mixed_child.id,
            revoked.first.id,
        ],
        keep_families: families(&[&live, &one_second_left, &consumed, &mixed, &revoked]),
        expired_tokens: vec![
            mixed.first.id,
            expired.first.id,
            chain.first.id,
            chain_child.id,
        ],
        empty_families: families(&[&expired, &chain]),
        consumed: (consumed.first.id, consumed_child.id),
        revoked: revoked.first.id,
    }
}

/// The state of the given records, in order.
async fn observe(fx: &Fixture, tokens: &[TokenId], families: &[FamilyId]) -> Vec<Observed> {
    let mut seen = Vec::new();
    for id in tokens {
        let state = fx.token("alice", *id).await;
        seen.push(Observed::Token("alice".to_owned(), *id, state));
    }
    for id in families {
        let state = fx.family("alice", *id).await;
        seen.push(Observed::Family("alice".to_owned(), *id, state));
    }
    seen
}

/// Purging never touches what reuse detection needs: live tokens (one second from
/// expiry too), consumed tokens until their own expiry, live children of expired parents,
/// revoked families, and their families. Presenting the consumed token again is still
/// `Consumed` with its child, and a revoked family still `Revoked`. Expired records are
/// gone or unchanged, never altered.
pub async fn check_purge_keeps_what_reuse_detection_needs(store: DynTokenStore) {
    const CLAUSE: &str = "purge_expired keeps what reuse detection needs";
    let mut fx = Fixture::new(store, CLAUSE);
    let s = scene(&mut fx).await;
    let kept_before = observe(&fx, &s.keep_tokens, &s.keep_families).await;
    let expired_before = observe(&fx, &s.expired_tokens, &s.empty_families).await;

    fx.must(fx.store().purge_expired(s.at, 1_000).await);

    let kept_after = observe(&fx, &s.keep_tokens, &s.keep_families).await;
    for (before, after) in kept_before.iter().zip(&kept_after) {
        assert_eq!(
            before, after,
            "{CLAUSE}: a record with expires_at > now (or its family) must survive unchanged"
        );
    }
    let expired_after = observe(&fx, &s.expired_tokens, &s.empty_families).await;
    for (before, after) in expired_before.iter().zip(&expired_after) {
        assert!(
            before == after || !after.exists(),
            "{CLAUSE}: an expired record must be deleted or left as it was.\n\
             before: {before:?}\nafter:  {after:?}"
        );
    }

    let later = s.at + Duration::seconds(1);
    let (old, child) = s.consumed;
    let (_, outcome) = fx.try_rotate("alice", old, later).await;
    let reported = match &outcome {
        Rotation::Consumed { child, .. } => child.as_ref().map(|c| c.id),
        _ => None,
    };
    assert_eq!(
        reported,
        Some(child),
        "{CLAUSE}: a consumed, unexpired token must still report Consumed with its child \
         after a purge, got {outcome:?}"
    );
    let (_, outcome) = fx.try_rotate("alice", s.revoked, later).await;
    assert!(
        matches!(outcome, Rotation::Revoked { .. }),
        "{CLAUSE}: a live token of a revoked family must still report Revoked after a purge, \
         got {outcome:?}"
    );
}

/// A purge before anything expired deletes nothing and returns 0. A purge at the expiry
/// that reports deletions has deleted exactly the expired tokens (`expires_at <= now`,
/// the boundary included) and the families left without tokens, and counted them; a
/// store that reports 0 (TTL-based) has changed nothing. Either way a second purge at the
/// same time returns 0.
pub async fn check_purge_removes_expired_records(store: DynTokenStore) {
    const CLAUSE: &str = "purge_expired removes expired tokens and empty families";
    let mut fx = Fixture::new(store, CLAUSE);
    let s = scene(&mut fx).await;
    let before = fx.snapshot().await;

    let early = fx.must(
        fx.store()
            .purge_expired(s.at - Duration::hours(2), 1_000)
            .await,
    );
    assert_eq!(
        early, 0,
        "{CLAUSE}: before any expiry there is nothing to delete"
    );
    fx.assert_unchanged(&before, "a purge before any expiry")
        .await;

    let deleted = fx.must(fx.store().purge_expired(s.at, 1_000).await);
    if deleted == 0 {
        fx.assert_unchanged(&before, "a purge that reports 0 deletions")
            .await;
    } else {
        let expected = s.expired_tokens.len() + s.empty_families.len();
        assert_eq!(
            deleted,
            expected as u64,
            "{CLAUSE}: must count each deleted token and family ({} expired tokens, {} \
             families left empty)",
            s.expired_tokens.len(),
            s.empty_families.len()
        );
        for id in &s.expired_tokens {
            assert_eq!(
                fx.token("alice", *id).await,
                None,
                "{CLAUSE}: token {id} with expires_at <= now must be gone"
            );
        }
        for id in &s.empty_families {
            assert_eq!(
                fx.family("alice", *id).await,
                None,
                "{CLAUSE}: family {id} with no token left must be gone"
            );
        }
    }
    let again = fx.must(fx.store().purge_expired(s.at, 1_000).await);
    assert_eq!(
        again, 0,
        "{CLAUSE}: a second purge at the same time must find nothing"
    );
}

/// `purge_expired(now, batch)` deletes at most `batch` records per call, and calling again
/// while it returns `batch` deletes every expired record (or, for a TTL store reporting
/// 0, changes nothing). Live records stay.
pub async fn check_purge_respects_batch(store: DynTokenStore) {
    const CLAUSE: &str = "purge_expired deletes at most `batch` records per call";
    const BATCH: u32 = 3;
    const EXPIRED_FAMILIES: usize = 10;
    // Far more calls than 20 records in batches of 3 need, so a store that never returns
    // less than the batch fails instead of hanging.
    const MAX_CALLS: usize = 100;

    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let live = fx.login_for("alice", t, TOKEN_TTL * 3).await;
    let mut expired = Vec::new();
    for _ in 0..EXPIRED_FAMILIES {
        expired.push(fx.login("alice", t).await);
    }
    let before = fx.snapshot().await;
    let at = t + TOKEN_TTL * 2;

    let mut total = 0;
    let mut calls = 0;
    loop {
        let deleted = fx.must(fx.store().purge_expired(at, BATCH).await);
        assert!(
            deleted <= u64::from(BATCH),
            "{CLAUSE}: call {calls} deleted {deleted} records with batch = {BATCH}"
        );
        total += deleted;
        calls += 1;
        if deleted < u64::from(BATCH) {
            break;
        }
        assert!(
            calls < MAX_CALLS,
            "{CLAUSE}: purge never ran out of records"
        );
    }

    if total == 0 {
        fx.assert_unchanged(&before, "a purge that reports 0 deletions")
            .await;
        return;
    }
    assert_eq!(
        total,
        2 * EXPIRED_FAMILIES as u64,
        "{CLAUSE}: calling again while a purge returns `batch` must delete all \
         {EXPIRED_FAMILIES} expired tokens and their families"
    );
    for l in &expired {
        assert_eq!(
            fx.family("alice", l.family.id).await,
            None,
            "{CLAUSE}: every family whose tokens expired must be gone after the loop"
        );
    }
    assert_eq!(
        fx.family("alice", live.family.id).await,
        Some(live.family.clone()),
        "{CLAUSE}: a live family must survive"
    );
}
