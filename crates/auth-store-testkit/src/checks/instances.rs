//! Two instances of one backend over the same data, as two processes would have.

use std::sync::Arc;

use auth_core::time::Duration;
use auth_core::{DynTokenStore, NewToken, Rotation, TokenId};
use tokio::sync::Barrier;

use crate::fixtures::{TOKEN_TTL, epoch, login, new_token};
use crate::support::{assert_rotated_into, describe, must};

/// How many tokens [`check_cross_instance_race`] fights over.
const RACED_TOKENS: usize = 40;
/// How many tasks per instance rotate each of those tokens.
const TASKS_PER_INSTANCE: usize = 4;

/// Two independent instances `a` and `b` of one backend over the same data (separate
/// pools or clients, as two processes would have) rotate the same 40 tokens at once, four
/// tasks each per token: exactly one rotation per token gets `Rotated`, every other one
/// `Consumed` naming the winner's token as the child, no call fails, and both the old
/// token's child and the winner's parent are stored (read back through `b`).
///
/// This catches what a single shared instance hides: a store whose atomicity rests on an
/// in-process lock or queue rather than on the database. Not stamped by
/// [`conformance_tests!`](crate::conformance_tests), which has one fresh store per check.
pub async fn check_cross_instance_race(a: DynTokenStore, b: DynTokenStore) {
    const CLAUSE: &str = "two instances rotating one token: exactly one winner";
    let t = epoch();
    let now = t + Duration::seconds(1);
    let mut logins = Vec::with_capacity(RACED_TOKENS);
    for _ in 0..RACED_TOKENS {
        let l = login("race", t, TOKEN_TTL);
        must(a.insert_family(&l.family, &l.first).await, CLAUSE);
        logins.push(l);
    }

    let start = Arc::new(Barrier::new(RACED_TOKENS * TASKS_PER_INSTANCE * 2));
    let mut racers = Vec::new();
    for (i, l) in logins.iter().enumerate() {
        for k in 0..TASKS_PER_INSTANCE * 2 {
            let store = if k % 2 == 0 { a.clone() } else { b.clone() };
            let (start, old, new) = (start.clone(), l.first.id, new_token(now, TOKEN_TTL));
            racers.push((
                i,
                new,
                tokio::spawn(async move {
                    start.wait().await;
                    store.rotate("race", old, &new, now).await
                }),
            ));
        }
    }

    let mut winners: Vec<Vec<NewToken>> = vec![Vec::new(); RACED_TOKENS];
    let mut losers: Vec<Vec<Option<TokenId>>> = vec![Vec::new(); RACED_TOKENS];
    for (i, new, handle) in racers {
        match handle.await {
            Ok(Ok(Rotation::Rotated { .. })) => winners[i].push(new),
            Ok(Ok(Rotation::Consumed { child, .. })) => losers[i].push(child.map(|c| c.id)),
            Ok(other) => panic!("{CLAUSE}: token {i}: unexpected outcome {other:?}"),
            Err(e) => panic!(
                "{CLAUSE}: token {i}: a racing task failed: {}",
                describe(&e)
            ),
        }
    }

    for (i, l) in logins.iter().enumerate() {
        let [winner] = winners[i][..] else {
            panic!(
                "{CLAUSE}: token {i}: {} rotations across two instances reported Rotated",
                winners[i].len()
            );
        };
        for child in &losers[i] {
            assert_eq!(
                *child,
                Some(winner.id),
                "{CLAUSE}: token {i}: a loser was told of a child other than the winner's token"
            );
        }
        let context = format!("{CLAUSE}: token {i}");
        assert_rotated_into(&*b, "race", l.first.id, winner.id, &context).await;
    }
}
