//! `rotate`: each outcome, the order of its checks, and that a refusal changes nothing.

use auth_core::time::Duration;
use auth_core::{
    DynTokenStore, Error, RefreshToken, Revocation, RevokeReason, Rotation, TokenId, TokenState,
};

use crate::fixtures::{TOKEN_TTL, epoch, new_token};
use crate::support::Fixture;

/// A live token rotates: it is consumed at `now` with child = the new token, the new token
/// joins the same family with parent = the old one, and the family is returned unchanged.
pub async fn check_rotate_live_token_rotates(store: DynTokenStore) {
    const CLAUSE: &str = "rotate of a live token -> Rotated";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let l = fx.login("alice", t).await;
    let now = t + Duration::minutes(10) + Duration::microseconds(789);
    let new = new_token(now, TOKEN_TTL);
    fx.remember("alice", new.id, l.family.id);

    let outcome = fx.must(fx.store().rotate("alice", l.first.id, &new, now).await);
    assert_eq!(
        outcome,
        Rotation::Rotated {
            family: l.family.clone()
        },
        "{CLAUSE}: must report Rotated with the family as stored"
    );
    assert_eq!(
        fx.token("alice", l.first.id).await,
        Some(TokenState {
            token: RefreshToken {
                id: l.first.id,
                family: l.family.id,
                subject: "alice".to_owned(),
                issued_at: l.first.issued_at,
                expires_at: l.first.expires_at,
                consumed_at: Some(now),
                parent: None,
                child: Some(new.id),
            },
            family: l.family.clone(),
        }),
        "{CLAUSE}: the old token must be consumed at `now` (to the µs) with child = new"
    );
    assert_eq!(
        fx.token("alice", new.id).await,
        Some(TokenState {
            token: RefreshToken {
                id: new.id,
                family: l.family.id,
                subject: "alice".to_owned(),
                issued_at: new.issued_at,
                expires_at: new.expires_at,
                consumed_at: None,
                parent: Some(l.first.id),
                child: None,
            },
            family: l.family.clone(),
        }),
        "{CLAUSE}: the new token must be stored unconsumed in the same family with parent = old"
    );
    assert_eq!(
        fx.family("alice", l.family.id).await,
        Some(l.family),
        "{CLAUSE}: rotation must not change the family"
    );
}

/// A consumed token reports `Consumed` with when it was consumed and its child as stored,
/// and nothing changes (the second new token is not stored).
pub async fn check_rotate_consumed_reports_child(store: DynTokenStore) {
    const CLAUSE: &str = "rotate of a consumed token -> Consumed";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let l = fx.login("alice", t).await;
    let consumed_at = t + Duration::minutes(5);
    let child = fx.rotate("alice", l.first.id, consumed_at).await;
    let child_record = fx.token("alice", child.id).await.map(|s| s.token);
    let before = fx.snapshot().await;

    let (_, outcome) = fx
        .try_rotate("alice", l.first.id, consumed_at + Duration::seconds(1))
        .await;
    assert_eq!(
        outcome,
        Rotation::Consumed {
            family: l.family,
            consumed_at,
            child: child_record,
        },
        "{CLAUSE}: must report the family, the first consumption time and the child record"
    );
    fx.assert_unchanged(&before, "rotate of a consumed token")
        .await;
}

/// `Consumed` reports the child's *current* record: once the child has been rotated
/// itself, its `consumed_at` and `child` show it (the service re-mints a child within the
/// reuse grace only while it is unused, and learns that from here).
pub async fn check_rotate_consumed_reports_child_current_state(store: DynTokenStore) {
    const CLAUSE: &str = "rotate of a consumed token reports the child's current record";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let l = fx.login("alice", t).await;
    let first_use = t + Duration::minutes(1);
    let child = fx.rotate("alice", l.first.id, first_use).await;
    let second_use = first_use + Duration::microseconds(250_001);
    let grandchild = fx.rotate("alice", child.id, second_use).await;
    let before = fx.snapshot().await;

    let (_, outcome) = fx
        .try_rotate("alice", l.first.id, second_use + Duration::seconds(3))
        .await;
    let Rotation::Consumed {
        consumed_at,
        child: Some(reported),
        ..
    } = outcome
    else {
        panic!("{CLAUSE}: expected Consumed with the child's record, got {outcome:?}");
    };
    assert_eq!(
        consumed_at, first_use,
        "{CLAUSE}: consumed_at is when the old token was used"
    );
    assert_eq!(
        (reported.id, reported.consumed_at, reported.child),
        (child.id, Some(second_use), Some(grandchild.id)),
        "{CLAUSE}: the reported child must show that it was consumed in turn"
    );
    fx.assert_unchanged(&before, "rotate of a consumed token")
        .await;
}

/// A revoked family is checked first: its tokens report `Revoked` with the revocation,
/// whether they are live, consumed, expired, or consumed and expired; nothing changes.
pub async fn check_rotate_revoked_checked_first(store: DynTokenStore) {
    const CLAUSE: &str = "rotate in a revoked family -> Revoked (before Expired and Consumed)";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let live = fx.login("alice", t).await;
    let consumed = fx.login("alice", t).await;
    fx.rotate("alice", consumed.first.id, t + Duration::minutes(1))
        .await;
    let expired = fx.login("alice", t).await;
    let both = fx.login("alice", t).await;
    fx.rotate("alice", both.first.id, t + Duration::minutes(1))
        .await;

    let revoked_at = t + Duration::minutes(2) + Duration::microseconds(5);
    for l in [&live, &consumed, &expired, &both] {
        let changed = fx.must(
            fx.store()
                .revoke_family("alice", l.family.id, RevokeReason::Revoked, revoked_at)
                .await,
        );
        assert_eq!(changed, 1, "{CLAUSE}: setup revoke_family must revoke");
    }
    let before = fx.snapshot().await;

    let past_expiry = live.first.expires_at + Duration::minutes(1);
    let cases = [
        ("a live token", &live, revoked_at + Duration::seconds(1)),
        (
            "a consumed token",
            &consumed,
            revoked_at + Duration::seconds(1),
        ),
        ("an expired token", &expired, past_expiry),
        ("a consumed and expired token", &both, past_expiry),
    ];
    for (what, l, now) in cases {
        let (_, outcome) = fx.try_rotate("alice", l.first.id, now).await;
        let mut family = l.family.clone();
        family.revoked = Some(Revocation {
            at: revoked_at,
            reason: RevokeReason::Revoked,
        });
        assert_eq!(
            outcome,
            Rotation::Revoked { family },
            "{CLAUSE}: {what} in a revoked family must report Revoked with the revocation"
        );
    }
    fx.assert_unchanged(&before, "rotate in a revoked family")
        .await;
}

/// `expires_at <= now` is `Expired`, exactly at the boundary too, and before `Consumed`;
/// one microsecond earlier the token still rotates. Nothing changes on `Expired`.
pub async fn check_rotate_expired(store: DynTokenStore) {
    const CLAUSE: &str = "rotate with expires_at <= now -> Expired";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let at_boundary = fx.login("alice", t).await;
    let after = fx.login("alice", t).await;
    let just_before = fx.login("alice", t).await;
    let consumed = fx.login("alice", t).await;
    fx.rotate("alice", consumed.first.id, t + Duration::minutes(1))
        .await;
    let expiry = at_boundary.first.expires_at;
    let before = fx.snapshot().await;

    let cases = [
        ("at exactly expires_at", &at_boundary, expiry),
        ("a day after expires_at", &after, expiry + Duration::days(1)),
        ("consumed, at expires_at", &consumed, expiry),
    ];
    for (what, l, now) in cases {
        let (_, outcome) = fx.try_rotate("alice", l.first.id, now).await;
        assert_eq!(
            outcome,
            Rotation::Expired,
            "{CLAUSE}: a token {what} must report Expired"
        );
    }
    fx.assert_unchanged(&before, "rotate of an expired token")
        .await;

    let (_, outcome) = fx
        .try_rotate(
            "alice",
            just_before.first.id,
            expiry - Duration::microseconds(1),
        )
        .await;
    assert!(
        matches!(outcome, Rotation::Rotated { .. }),
        "{CLAUSE}: one microsecond before expires_at the token is live and must rotate, \
         got {outcome:?}"
    );
}

/// An unknown token id is `NotFound` and stores nothing.
pub async fn check_rotate_unknown_is_not_found(store: DynTokenStore) {
    const CLAUSE: &str = "rotate of an unknown token -> NotFound";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let (_, outcome) = fx.try_rotate("alice", TokenId::random(), t).await;
    assert_eq!(
        outcome,
        Rotation::NotFound,
        "{CLAUSE}: an empty store must report NotFound"
    );
    fx.login("alice", t).await;
    let before = fx.snapshot().await;
    let (_, outcome) = fx.try_rotate("alice", TokenId::random(), t).await;
    assert_eq!(
        outcome,
        Rotation::NotFound,
        "{CLAUSE}: a random id must report NotFound"
    );
    fx.assert_unchanged(&before, "rotate of an unknown token")
        .await;
}

/// A token presented under the wrong subject does not exist: `NotFound`, whatever its
/// state (live, consumed or revoked: no child or revocation leaks), and nothing changes.
pub async fn check_rotate_wrong_subject_is_not_found(store: DynTokenStore) {
    const CLAUSE: &str = "rotate under the wrong subject -> NotFound";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let live = fx.login("alice", t).await;
    let consumed = fx.login("alice", t).await;
    fx.rotate("alice", consumed.first.id, t + Duration::minutes(1))
        .await;
    let revoked = fx.login("alice", t).await;
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", revoked.family.id, RevokeReason::Revoked, t)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: setup revoke_family must revoke");
    fx.login("bob", t).await;
    let before = fx.snapshot().await;

    for (what, l) in [
        ("live", &live),
        ("consumed", &consumed),
        ("revoked", &revoked),
    ] {
        for intruder in ["bob", "mallory", "Alice", "alice "] {
            let (_, outcome) = fx
                .try_rotate(intruder, l.first.id, t + Duration::minutes(2))
                .await;
            assert_eq!(
                outcome,
                Rotation::NotFound,
                "{CLAUSE}: alice's {what} token presented as {intruder:?} must be NotFound"
            );
        }
    }
    fx.assert_unchanged(&before, "rotate under the wrong subject")
        .await;

    let (_, outcome) = fx
        .try_rotate("alice", live.first.id, t + Duration::minutes(3))
        .await;
    assert!(
        matches!(outcome, Rotation::Rotated { .. }),
        "{CLAUSE}: the owner must still be able to rotate afterwards, got {outcome:?}"
    );
}

/// Rotating a live token into a token id that the subject already has (a first token of
/// another family, a rotated child, the old token itself) is [`Error::Conflict`] and
/// changes nothing: the old token stays live and can still rotate.
///
/// Ids need only be unique per subject: rotating into an id that *another* subject holds
/// is unspecified, so that case is not tested either way.
pub async fn check_rotate_into_existing_id_conflicts(store: DynTokenStore) {
    const CLAUSE: &str = "rotate into a token id the subject has -> Conflict";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let live = fx.login("alice", t).await;
    let other = fx.login("alice", t).await;
    let child = fx
        .rotate("alice", other.first.id, t + Duration::minutes(1))
        .await;
    let before = fx.snapshot().await;

    let now = t + Duration::minutes(2);
    for (what, taken) in [
        ("the first token of another family", other.first.id),
        ("a rotated child", child.id),
        ("the old token itself", live.first.id),
    ] {
        let mut new = new_token(now, TOKEN_TTL);
        new.id = taken;
        let result = fx.store().rotate("alice", live.first.id, &new, now).await;
        assert!(
            matches!(result, Err(Error::Conflict { .. })),
            "{CLAUSE}: rotating into {what} ({taken}) must be refused with Conflict, \
             got {result:?}"
        );
    }
    fx.assert_unchanged(&before, "a refused rotation").await;

    let (_, outcome) = fx.try_rotate("alice", live.first.id, now).await;
    assert!(
        matches!(outcome, Rotation::Rotated { .. }),
        "{CLAUSE}: the old token must still rotate to a fresh id afterwards, got {outcome:?}"
    );
}
