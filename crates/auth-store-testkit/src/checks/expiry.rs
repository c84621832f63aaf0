//! Expiry is judged by the `now` the caller passes, never by the store's own clock.

use auth_core::time::Duration;
use auth_core::{Clock, DynTokenStore, ManualClock, RevokeReason, Rotation};

use crate::fixtures::{TOKEN_TTL, epoch};
use crate::support::Fixture;

/// With a manual clock moved by hand: a token rotates until the last microsecond before
/// its expiry and is `Expired` from then on (hours ahead of the wall clock, where a store
/// consulting its own clock would still call it live); each child gets its own lifetime;
/// and every time the store records is the `now` it was given.
pub async fn check_expiry_follows_callers_clock(store: DynTokenStore) {
    const CLAUSE: &str = "expiry follows the caller's clock";
    let mut fx = Fixture::new(store, CLAUSE);
    let clock = ManualClock::new(epoch());
    let l = fx.login("alice", clock.now()).await;
    let spare = fx.login("alice", clock.now()).await;

    clock.set(l.first.expires_at - Duration::microseconds(1));
    let rotated_at = clock.now();
    let child = fx.rotate("alice", l.first.id, rotated_at).await;
    let state = fx.token("alice", l.first.id).await;
    assert_eq!(
        state.and_then(|s| s.token.consumed_at),
        Some(rotated_at),
        "{CLAUSE}: consumed_at must be the `now` passed to rotate"
    );

    clock.advance(Duration::microseconds(1));
    let (_, outcome) = fx.try_rotate("alice", spare.first.id, clock.now()).await;
    assert_eq!(
        outcome,
        Rotation::Expired,
        "{CLAUSE}: at expires_at by the caller's clock the token is Expired"
    );
    let (_, outcome) = fx.try_rotate("alice", child.id, clock.now()).await;
    assert!(
        matches!(outcome, Rotation::Rotated { .. }),
        "{CLAUSE}: the child was minted with its own lifetime and must still rotate, got {outcome:?}"
    );

    clock.advance(TOKEN_TTL * 3);
    let revoke_at = clock.now();
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", spare.family.id, RevokeReason::Logout, revoke_at)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: revoke_family must revoke");
    let revoked = fx
        .family("alice", spare.family.id)
        .await
        .and_then(|f| f.revoked);
    assert_eq!(
        revoked.map(|r| r.at),
        Some(revoke_at),
        "{CLAUSE}: the revocation time must be the `now` passed to revoke_family"
    );
}
