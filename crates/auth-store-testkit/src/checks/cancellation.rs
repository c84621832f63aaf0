//! Calls cut short at every stage of their work (the caller's future dropped).

use std::future::Future;
use std::time::Duration as StdDuration;

use auth_core::time::Duration;
use auth_core::{DynTokenStore, Rotation, TokenId};

use crate::fixtures::{TOKEN_TTL, epoch, login, new_token};
use crate::support::{describe, must};

const CLAUSE: &str = "cancelled calls leave the store whole";
/// Logins per round whose first token lives for [`TOKEN_TTL`] (and as many short-lived).
const LOGINS: usize = 60;
/// Rounds of ever longer delays; see [`check_cancelled_calls_leave_store_whole`].
const ROUNDS: u32 = 12;
/// The short-lived logins' lifetime, for the purges to find them.
const SHORT_TTL: Duration = Duration::minutes(10);
/// How far past a round's start its purges look: past [`SHORT_TTL`], short of
/// [`TOKEN_TTL`], so they delete short-lived logins but never a token whose rotation is
/// checked afterwards (a store may purge an expired child before its parent).
const PURGE_AHEAD: Duration = Duration::minutes(30);

/// Starts rotations, logins and purges and drops each after a different delay (from 0 up
/// to 0.25 ms in the first of 12 rounds, up to 0.5 s in the last), so that whatever a call
/// takes on this machine, many are cut before they reach the backend, mid-statement,
/// mid-transaction, and some not at all. Requires that some were cut and some finished,
/// and that every call that finished succeeded.
///
/// Then, in this order:
/// 1. awaits `inspect`, the backend's own check that nothing was left behind (PostgreSQL:
///    no session idle inside a transaction; SQLite: the write lock is free). It runs
///    before the store is used again, because reusing a pooled connection can clean up
///    what a cancelled call left on it and so hide the fault. `inspect` is a future, not
///    yet polled: an `async fn` call or an `async` block, built before this call.
/// 2. checks that every rotation applied whole or not at all: each token the rounds tried
///    to rotate is either unconsumed with no child, or consumed with its child stored and
///    naming it as parent.
/// 3. checks that the store still serves logins, rotations and purges.
///
/// Needs a store whose calls take real time (I/O): on an in-memory store no call is ever
/// cut, and the check fails saying so. Not stamped by
/// [`conformance_tests!`](crate::conformance_tests), since `inspect` is the backend's.
pub async fn check_cancelled_calls_leave_store_whole(
    store: DynTokenStore,
    inspect: impl Future<Output = ()>,
) {
    let (mut cancelled, mut completed) = (0, 0);
    let mut rotated = Vec::new();
    for round in 0..ROUNDS {
        let tally = cancel_round(&store, 250 << round, &mut rotated).await;
        cancelled += tally.0;
        completed += tally.1;
    }
    assert!(
        cancelled > 0 && completed > 0,
        "{CLAUSE}: the delays must cut some calls short and let others finish: \
         {cancelled} cancelled, {completed} completed"
    );

    inspect.await;

    for &old in &rotated {
        assert_rotation_whole(&store, old).await;
    }
    still_works(&store).await;
}

/// One round: 120 logins (every other one short-lived), then one call per long-lived login
/// (a purge, a new login or a rotation of it, in turn), each dropped after its own delay
/// below `max_micros`. Pushes the tokens it tried to rotate onto `rotated`; returns how
/// many calls were cancelled and how many completed.
async fn cancel_round(
    store: &DynTokenStore,
    max_micros: u64,
    rotated: &mut Vec<TokenId>,
) -> (usize, usize) {
    let t = epoch();
    let mut live = Vec::new();
    for i in 0..LOGINS * 2 {
        let ttl = if i % 2 == 0 { TOKEN_TTL } else { SHORT_TTL };
        let l = login("cancel", t, ttl);
        must(store.insert_family(&l.family, &l.first).await, CLAUSE);
        if i % 2 == 0 {
            live.push(l.first.id);
        }
    }
    let now = t + Duration::seconds(1);
    let purge_at = t + PURGE_AHEAD;
    let mut tasks = Vec::new();
    for (i, old) in live.into_iter().enumerate() {
        let store = store.clone();
        let budget = StdDuration::from_micros((i as u64 * 397) % max_micros);
        if i % 3 == 2 {
            rotated.push(old);
        }
        tasks.push(tokio::spawn(async move {
            let work = async {
                match i % 3 {
                    0 => store.purge_expired(purge_at, 3).await.map(|_| ()),
                    1 => {
                        let l = login("cancel", now, TOKEN_TTL);
                        store.insert_family(&l.family, &l.first).await
                    }
                    _ => store
                        .rotate("cancel", old, &new_token(now, TOKEN_TTL), now)
                        .await
                        .map(|_| ()),
                }
            };
            tokio::time::timeout(budget, work).await
        }));
    }
    let (mut cancelled, mut completed) = (0, 0);
    for task in tasks {
        match task.await {
            Ok(Err(_elapsed)) => cancelled += 1,
            Ok(Ok(Ok(()))) => completed += 1,
            Ok(Ok(Err(e))) => panic!(
                "{CLAUSE}: a call that was not cancelled failed: {}",
                describe(&e)
            ),
            Err(e) => panic!("{CLAUSE}: a task did not finish: {}", describe(&e)),
        }
    }
    (cancelled, completed)
}

/// `old` is unconsumed without a child, or consumed with its child stored under it.
async fn assert_rotation_whole(store: &DynTokenStore, old: TokenId) {
    let Some(state) = must(store.token_status("cancel", old).await, CLAUSE) else {
        panic!("{CLAUSE}: token {old:?}, stored and never expired, is gone");
    };
    match (state.token.consumed_at, state.token.child) {
        (None, None) => {}
        (Some(_), Some(child)) => {
            let stored = must(store.token_status("cancel", child).await, CLAUSE);
            assert_eq!(
                stored.map(|s| (s.token.parent, s.family.id)),
                Some((Some(old), state.family.id)),
                "{CLAUSE}: token {old:?} is consumed but its child {child:?} is not stored \
                 under it: a rotation applied in part"
            );
        }
        (consumed_at, child) => panic!(
            "{CLAUSE}: token {old:?} has consumed_at {consumed_at:?} but child {child:?}: \
             a rotation applied in part"
        ),
    }
}

/// The store still serves every kind of call after the cancellations.
async fn still_works(store: &DynTokenStore) {
    let t = epoch() + Duration::seconds(2);
    for _ in 0..10 {
        let l = login("after", t, TOKEN_TTL);
        let new = new_token(t, TOKEN_TTL);
        let outcome = async {
            store.insert_family(&l.family, &l.first).await?;
            store.rotate("after", l.first.id, &new, t).await
        }
        .await;
        assert!(
            matches!(outcome, Ok(Rotation::Rotated { .. })),
            "{CLAUSE}: after the cancellations a login then rotation gave {outcome:?}"
        );
    }
    must(
        store.purge_expired(t + Duration::days(1), 1000).await,
        "cancelled calls leave the store whole: purge afterwards",
    );
}
