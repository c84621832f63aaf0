//! Races: many tasks on a multi-thread runtime, released together by a barrier.

use std::sync::Arc;

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{DynTokenStore, NewToken, Result, Revocation, RevokeReason, Rotation};
use tokio::sync::Barrier;
use tokio::task::JoinHandle;

use crate::fixtures::{TOKEN_TTL, epoch, login, new_token};
use crate::support::{assert_rotated_into, describe, must};

/// How many tasks race in each round of a concurrency check (e.g. to rotate one token).
pub const ROTATE_TASKS: usize = 64;
/// How many tokens each race check goes through.
pub const RACE_ROUNDS: usize = 20;
/// How many families race against one `revoke_subject`.
const RACING_FAMILIES: usize = 8;

/// Waits for a spawned task, failing the check if it panicked or the store failed.
async fn join<T>(handle: JoinHandle<Result<T>>, clause: &str) -> T {
    match handle.await {
        Ok(result) => must(result, clause),
        Err(e) => panic!("{clause}: a racing task did not finish: {}", describe(&e)),
    }
}

fn spawn_rotate(
    store: &DynTokenStore,
    barrier: &Arc<Barrier>,
    subject: &str,
    old: auth_core::TokenId,
    new: NewToken,
    now: OffsetDateTime,
) -> JoinHandle<Result<Rotation>> {
    let (store, barrier, subject) = (store.clone(), barrier.clone(), subject.to_owned());
    tokio::spawn(async move {
        barrier.wait().await;
        store.rotate(&subject, old, &new, now).await
    })
}

/// 64 tasks rotate one token to 64 distinct new tokens at once: exactly one gets
/// `Rotated`, every other one `Consumed` naming the winner's token as the child, and only
/// the winner's token is stored. Repeated for 20 tokens.
pub async fn check_concurrent_rotate_has_one_winner(store: DynTokenStore) {
    const CLAUSE: &str = "concurrent rotate: exactly one winner";
    let t = epoch();
    for round in 0..RACE_ROUNDS {
        let l = login("alice", t, TOKEN_TTL);
        must(store.insert_family(&l.family, &l.first).await, CLAUSE);
        let now = t + Duration::seconds(round as i64 + 1);
        let barrier = Arc::new(Barrier::new(ROTATE_TASKS));
        let racers: Vec<_> = (0..ROTATE_TASKS)
            .map(|_| {
                let new = new_token(now, TOKEN_TTL);
                (
                    new,
                    spawn_rotate(&store, &barrier, "alice", l.first.id, new, now),
                )
            })
            .collect();
        let mut outcomes = Vec::with_capacity(ROTATE_TASKS);
        for (new, handle) in racers {
            outcomes.push((new, join(handle, CLAUSE).await));
        }

        let winners: Vec<NewToken> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Rotation::Rotated { .. }))
            .map(|(new, _)| *new)
            .collect();
        let [winner] = winners[..] else {
            panic!(
                "{CLAUSE}: round {round}: {} of {ROTATE_TASKS} concurrent rotations of one \
                 token reported Rotated",
                winners.len()
            );
        };
        for (new, outcome) in &outcomes {
            if new.id == winner.id {
                continue;
            }
            let Rotation::Consumed {
                consumed_at, child, ..
            } = outcome
            else {
                panic!(
                    "{CLAUSE}: round {round}: a losing rotation must see Consumed, got {outcome:?}"
                );
            };
            assert_eq!(
                (*consumed_at, child.as_ref().map(|c| c.id)),
                (now, Some(winner.id)),
                "{CLAUSE}: round {round}: a loser must see the winner's consumption and child"
            );
            let stored = must(store.token_status("alice", new.id).await, CLAUSE);
            assert_eq!(
                stored, None,
                "{CLAUSE}: round {round}: a losing rotation must not store its new token"
            );
        }
        let context = format!("{CLAUSE}: round {round}");
        assert_rotated_into(&*store, "alice", l.first.id, winner.id, &context).await;
    }
}

/// `revoke_subject` racing rotations in each of the subject's families revokes all of
/// them, and a rotation that won the race leaves no live token behind: its child reads as
/// revoked and rotates to `Revoked`. A rotation that lost stored nothing. Repeated 20 times.
pub async fn check_concurrent_revoke_subject_and_rotate(store: DynTokenStore) {
    const CLAUSE: &str = "concurrent revoke_subject and rotate leave no live token";
    let t = epoch();
    let now = t + Duration::minutes(1);
    for round in 0..RACE_ROUNDS {
        let subject = format!("user-{round}");
        let mut firsts = Vec::with_capacity(RACING_FAMILIES);
        for _ in 0..RACING_FAMILIES {
            let l = login(&subject, t, TOKEN_TTL);
            must(store.insert_family(&l.family, &l.first).await, CLAUSE);
            firsts.push(l.first.id);
        }
        let barrier = Arc::new(Barrier::new(RACING_FAMILIES + 1));
        let rotations: Vec<_> = firsts
            .iter()
            .map(|old| {
                let new = new_token(now, TOKEN_TTL);
                (
                    new,
                    spawn_rotate(&store, &barrier, &subject, *old, new, now),
                )
            })
            .collect();
        let revocation = {
            let (store, barrier, subject) = (store.clone(), barrier.clone(), subject.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .revoke_subject(&subject, RevokeReason::Logout, now)
                    .await
            })
        };

        let revoked = join(revocation, CLAUSE).await;
        assert_eq!(
            revoked, RACING_FAMILIES as u64,
            "{CLAUSE}: round {round}: every family was unrevoked when revoke_subject began"
        );
        let later = now + Duration::seconds(1);
        for (new, handle) in rotations {
            let outcome = join(handle, CLAUSE).await;
            let stored = must(store.token_status(&subject, new.id).await, CLAUSE);
            match outcome {
                Rotation::Rotated { .. } => {
                    let live = stored.as_ref().map(|s| s.is_live(later));
                    assert_eq!(
                        live,
                        Some(false),
                        "{CLAUSE}: round {round}: a child minted during revoke_subject must \
                         exist and read as revoked, got {stored:?}"
                    );
                    let again = must(
                        store
                            .rotate(&subject, new.id, &new_token(later, TOKEN_TTL), later)
                            .await,
                        CLAUSE,
                    );
                    assert!(
                        matches!(again, Rotation::Revoked { .. }),
                        "{CLAUSE}: round {round}: that child must rotate to Revoked, got {again:?}"
                    );
                }
                Rotation::Revoked { .. } => assert_eq!(
                    stored, None,
                    "{CLAUSE}: round {round}: a rotation refused as Revoked must store nothing"
                ),
                other => panic!(
                    "{CLAUSE}: round {round}: a live token racing revoke_subject must end \
                     Rotated or Revoked, got {other:?}"
                ),
            }
        }
    }
}

/// 64 tasks revoke one family at once, each with its own time and reason: exactly one of
/// them counts the family, and the family keeps that one's revocation (a later writer
/// must not overwrite the first reason, e.g. `logout` over `reuse`). Repeated 20 times,
/// racing `revoke_token`, `revoke_family` and `revoke_subject` in turn.
pub async fn check_concurrent_revocations_count_once(store: DynTokenStore) {
    const CLAUSE: &str = "concurrent revocations of one family: exactly one counts it";
    const REASONS: [RevokeReason; 3] = [
        RevokeReason::Reuse,
        RevokeReason::Revoked,
        RevokeReason::Logout,
    ];
    let t = epoch();
    for round in 0..RACE_ROUNDS {
        let subject = format!("user-{round}");
        let l = login(&subject, t, TOKEN_TTL);
        must(store.insert_family(&l.family, &l.first).await, CLAUSE);
        let barrier = Arc::new(Barrier::new(ROTATE_TASKS));
        let racers: Vec<_> = (0..ROTATE_TASKS)
            .map(|i| {
                let revocation = Revocation {
                    at: t + Duration::minutes(1) + Duration::microseconds(i as i64),
                    reason: REASONS[i % REASONS.len()],
                };
                let (store, barrier, subject) = (store.clone(), barrier.clone(), subject.clone());
                let (token, family) = (l.first.id, l.family.id);
                let handle = tokio::spawn(async move {
                    barrier.wait().await;
                    let Revocation { at, reason } = revocation;
                    match round % 3 {
                        0 => store.revoke_token(&subject, token, reason, at).await,
                        1 => store.revoke_family(&subject, family, reason, at).await,
                        _ => store.revoke_subject(&subject, reason, at).await,
                    }
                });
                (revocation, handle)
            })
            .collect();

        let mut winners = Vec::new();
        for (revocation, handle) in racers {
            match join(handle, CLAUSE).await {
                0 => {}
                1 => winners.push(revocation),
                n => panic!("{CLAUSE}: round {round}: one family cannot count as {n} revoked"),
            }
        }
        let [winner] = winners[..] else {
            panic!(
                "{CLAUSE}: round {round}: {} of {ROTATE_TASKS} concurrent revocations of one \
                 family returned 1",
                winners.len()
            );
        };
        let family = must(store.family_status(&subject, l.family.id).await, CLAUSE);
        assert_eq!(
            family.and_then(|f| f.revoked),
            Some(winner),
            "{CLAUSE}: round {round}: the family must keep the revocation of the call that \
             counted it"
        );
    }
}
