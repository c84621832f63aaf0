//! What the store must do for reuse detection: a family revoked with reason `reuse`
//! refuses every one of its tokens, and the first revocation stands.

use auth_core::time::Duration;
use auth_core::{DynTokenStore, Revocation, RevokeReason, Rotation};

use crate::fixtures::epoch;
use crate::support::Fixture;

/// After a reused token's family is revoked with reason `reuse`, every token of that
/// family (the reused one, its child, and the grandchild minted after the reused token
/// was consumed) rotates to `Revoked` with that reason; the user's other family is live.
pub async fn check_reuse_revokes_whole_family(store: DynTokenStore) {
    const CLAUSE: &str = "reuse -> the whole family is revoked";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let l = fx.login("alice", t).await;
    let other = fx.login("alice", t).await;
    let child = fx
        .rotate("alice", l.first.id, t + Duration::minutes(1))
        .await;
    let grandchild = fx.rotate("alice", child.id, t + Duration::minutes(2)).await;

    // The service sees Consumed for a reused token and revokes by that token.
    let reused_at = t + Duration::minutes(3) + Duration::microseconds(42);
    let (_, outcome) = fx.try_rotate("alice", l.first.id, reused_at).await;
    assert!(
        matches!(outcome, Rotation::Consumed { .. }),
        "{CLAUSE}: setup: presenting the first token again must report Consumed, got {outcome:?}"
    );
    let changed = fx.must(
        fx.store()
            .revoke_token("alice", l.first.id, RevokeReason::Reuse, reused_at)
            .await,
    );
    assert_eq!(
        changed, 1,
        "{CLAUSE}: revoke_token on the reused token must revoke its family"
    );

    let revocation = Some(Revocation {
        at: reused_at,
        reason: RevokeReason::Reuse,
    });
    let later = reused_at + Duration::seconds(1);
    for (what, id) in [
        ("the reused token", l.first.id),
        ("its child", child.id),
        ("the grandchild minted later", grandchild.id),
    ] {
        let state = fx.token("alice", id).await;
        assert_eq!(
            state.map(|s| s.family.revoked),
            Some(revocation),
            "{CLAUSE}: token_status of {what} must show the family revoked for reuse"
        );
        let (_, outcome) = fx.try_rotate("alice", id, later).await;
        let Rotation::Revoked { family } = &outcome else {
            panic!("{CLAUSE}: {what} must rotate to Revoked, got {outcome:?}");
        };
        assert_eq!(
            family.revoked, revocation,
            "{CLAUSE}: {what} must report the reuse revocation"
        );
    }
    let other_family = fx.family("alice", other.family.id).await;
    assert_eq!(
        other_family,
        Some(other.family),
        "{CLAUSE}: the user's other family must be untouched"
    );
}

/// A revocation is terminal and keeps its first time and reason: later revocations by
/// token, family or subject return 0 and change nothing.
pub async fn check_revocation_keeps_first_reason(store: DynTokenStore) {
    const CLAUSE: &str = "double revocation keeps the first reason and returns 0";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let l = fx.login("alice", t).await;
    let first_at = t + Duration::minutes(1) + Duration::microseconds(999_999);
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", l.family.id, RevokeReason::Reuse, first_at)
            .await,
    );
    assert_eq!(
        changed, 1,
        "{CLAUSE}: the first revoke_family must return 1"
    );
    let before = fx.snapshot().await;

    let again = t + Duration::minutes(2);
    let store = fx.store();
    let counts = [
        (
            "revoke_family",
            fx.must(
                store
                    .revoke_family("alice", l.family.id, RevokeReason::Logout, again)
                    .await,
            ),
        ),
        (
            "revoke_token",
            fx.must(
                store
                    .revoke_token("alice", l.first.id, RevokeReason::Revoked, again)
                    .await,
            ),
        ),
        (
            "revoke_subject",
            fx.must(
                store
                    .revoke_subject("alice", RevokeReason::Logout, again)
                    .await,
            ),
        ),
    ];
    for (op, count) in counts {
        assert_eq!(
            count, 0,
            "{CLAUSE}: {op} of an already revoked family must return 0"
        );
    }
    fx.assert_unchanged(&before, "revoking a revoked family")
        .await;
    let family = fx.family("alice", l.family.id).await;
    assert_eq!(
        family.and_then(|f| f.revoked),
        Some(Revocation {
            at: first_at,
            reason: RevokeReason::Reuse
        }),
        "{CLAUSE}: the family must keep its first revocation (time to the µs, reason reuse)"
    );
}
