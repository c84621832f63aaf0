//! `revoke_token`, `revoke_family` and `revoke_subject`: what they revoke, what they count,
//! and what they leave alone.

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{DynTokenStore, Family, FamilyId, Revocation, RevokeReason, Rotation, TokenId};

use crate::fixtures::{Login, epoch};
use crate::support::Fixture;

/// Alice with two families (the first rotated once) and Bob with one.
struct World {
    alice: Login,
    alice_child: TokenId,
    alice_other: Login,
    bob: Login,
}

async fn world(fx: &mut Fixture, t: OffsetDateTime) -> World {
    let alice = fx.login("alice", t).await;
    let alice_child = fx
        .rotate("alice", alice.first.id, t + Duration::minutes(1))
        .await
        .id;
    let alice_other = fx.login("alice", t).await;
    let bob = fx.login("bob", t).await;
    World {
        alice,
        alice_child,
        alice_other,
        bob,
    }
}

fn revoked(family: &Family, at: OffsetDateTime, reason: RevokeReason) -> Family {
    Family {
        revoked: Some(Revocation { at, reason }),
        ..family.clone()
    }
}

/// Asserts the untouched families are exactly as inserted and their tokens still rotate.
async fn assert_untouched(
    fx: &mut Fixture,
    clause: &str,
    untouched: &[&Login],
    at: OffsetDateTime,
) {
    for l in untouched {
        let subject = l.family.subject.as_str();
        assert_eq!(
            fx.family(subject, l.family.id).await,
            Some(l.family.clone()),
            "{clause}: {subject}'s family {} must be untouched",
            l.family.id
        );
    }
    for l in untouched {
        let subject = l.family.subject.clone();
        let (_, outcome) = fx.try_rotate(&subject, l.first.id, at).await;
        assert!(
            matches!(outcome, Rotation::Rotated { .. }),
            "{clause}: a token of {subject}'s untouched family must still rotate, got {outcome:?}"
        );
    }
}

/// `revoke_token` revokes the family of the token (a consumed one too) and returns 1;
/// the same subject's other family and other users' families are untouched.
pub async fn check_revoke_token_revokes_its_family(store: DynTokenStore) {
    const CLAUSE: &str = "revoke_token revokes that token's family";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let w = world(&mut fx, t).await;
    let at = t + Duration::minutes(2) + Duration::microseconds(17);

    // By the consumed first token: the family, not just that token, is revoked.
    let changed = fx.must(
        fx.store()
            .revoke_token("alice", w.alice.first.id, RevokeReason::Revoked, at)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: must return 1 family changed");
    let expected = revoked(&w.alice.family, at, RevokeReason::Revoked);
    assert_eq!(
        fx.family("alice", w.alice.family.id).await,
        Some(expected.clone()),
        "{CLAUSE}: the family must carry the revocation time (to the µs) and reason"
    );
    let (_, outcome) = fx.try_rotate("alice", w.alice_child, at).await;
    assert_eq!(
        outcome,
        Rotation::Revoked { family: expected },
        "{CLAUSE}: the live child in the revoked family must rotate to Revoked"
    );
    let again = fx.must(
        fx.store()
            .revoke_token("alice", w.alice_child, RevokeReason::Logout, at)
            .await,
    );
    assert_eq!(
        again, 0,
        "{CLAUSE}: revoking by another token of the revoked family must return 0"
    );
    assert_untouched(&mut fx, CLAUSE, &[&w.alice_other, &w.bob], at).await;
}

/// `revoke_family` revokes one family and returns 1 (0 the second time); the same
/// subject's other family and other users' families are untouched.
pub async fn check_revoke_family_revokes_one_family(store: DynTokenStore) {
    const CLAUSE: &str = "revoke_family revokes one family";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let w = world(&mut fx, t).await;
    let at = t + Duration::minutes(2) + Duration::microseconds(3);

    let changed = fx.must(
        fx.store()
            .revoke_family("alice", w.alice.family.id, RevokeReason::Logout, at)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: must return 1 family changed");
    let expected = revoked(&w.alice.family, at, RevokeReason::Logout);
    for id in [w.alice.first.id, w.alice_child] {
        let state = fx.token("alice", id).await;
        assert_eq!(
            state.map(|s| s.family),
            Some(expected.clone()),
            "{CLAUSE}: token_status of every token in the family must show the revocation"
        );
    }
    let again = fx.must(
        fx.store()
            .revoke_family("alice", w.alice.family.id, RevokeReason::Logout, at)
            .await,
    );
    assert_eq!(again, 0, "{CLAUSE}: a second revoke_family must return 0");
    assert_untouched(&mut fx, CLAUSE, &[&w.alice_other, &w.bob], at).await;
}

/// `revoke_subject` revokes every unrevoked family of the subject and counts only those
/// (an already revoked family keeps its revocation and is not counted); other users are
/// untouched; a family created afterwards is live.
pub async fn check_revoke_subject_revokes_all_its_families(store: DynTokenStore) {
    const CLAUSE: &str = "revoke_subject revokes every unrevoked family of the subject";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let w = world(&mut fx, t).await;
    let earlier = fx.login("alice", t).await;
    let earlier_at = t + Duration::minutes(1);
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", earlier.family.id, RevokeReason::Reuse, earlier_at)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: setup revoke_family must revoke");

    let at = t + Duration::minutes(2) + Duration::microseconds(500_001);
    let changed = fx.must(
        fx.store()
            .revoke_subject("alice", RevokeReason::Logout, at)
            .await,
    );
    assert_eq!(
        changed, 2,
        "{CLAUSE}: must count alice's two unrevoked families, not the already revoked one"
    );
    for l in [&w.alice, &w.alice_other] {
        assert_eq!(
            fx.family("alice", l.family.id).await,
            Some(revoked(&l.family, at, RevokeReason::Logout)),
            "{CLAUSE}: each of alice's families must carry the logout revocation"
        );
    }
    assert_eq!(
        fx.family("alice", earlier.family.id).await,
        Some(revoked(&earlier.family, earlier_at, RevokeReason::Reuse)),
        "{CLAUSE}: an already revoked family must keep its first revocation"
    );
    let again = fx.must(
        fx.store()
            .revoke_subject("alice", RevokeReason::Logout, at)
            .await,
    );
    assert_eq!(again, 0, "{CLAUSE}: a second revoke_subject must return 0");

    let after = fx.login("alice", at + Duration::seconds(1)).await;
    assert_untouched(
        &mut fx,
        CLAUSE,
        &[&w.bob, &after],
        at + Duration::seconds(2),
    )
    .await;
}

/// Unknown ids and subjects, and ids asked for under the wrong subject, revoke nothing
/// and return 0.
pub async fn check_revoke_unknown_is_zero(store: DynTokenStore) {
    const CLAUSE: &str = "revoking unknown ids or subjects -> 0";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let w = world(&mut fx, t).await;
    let before = fx.snapshot().await;
    let r = RevokeReason::Revoked;
    let store = fx.store();
    let counts = [
        (
            "revoke_token of a random id",
            fx.must(store.revoke_token("alice", TokenId::random(), r, t).await),
        ),
        (
            "revoke_token of alice's token as bob",
            fx.must(store.revoke_token("bob", w.alice.first.id, r, t).await),
        ),
        (
            "revoke_family of a random id",
            fx.must(store.revoke_family("alice", FamilyId::random(), r, t).await),
        ),
        (
            "revoke_family of alice's family as bob",
            fx.must(store.revoke_family("bob", w.alice.family.id, r, t).await),
        ),
        (
            "revoke_subject of an unknown subject",
            fx.must(store.revoke_subject("nobody", r, t).await),
        ),
        (
            "revoke_subject of a prefix of a subject",
            fx.must(store.revoke_subject("ali", r, t).await),
        ),
    ];
    for (what, count) in counts {
        assert_eq!(count, 0, "{CLAUSE}: {what} must return 0");
    }
    fx.assert_unchanged(&before, "revoking unknown ids").await;
}
