//! Two separate pools, as two processes would have, rotate the same tokens concurrently.
//! Each store has its own in-process write queue, so the two meet only at SQLite's file
//! lock, exactly as two processes would.

mod common;

use std::sync::Arc;

use auth_core::time::Duration;
use auth_core::{DynTokenStore, Rotation, TokenId, TokenStore};
use auth_store_sqlite::SqliteStore;
use auth_store_testkit::fixtures::{TOKEN_TTL, epoch, login, new_token};
use tokio::sync::Barrier;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_have_one_winner_per_token() {
    let first = common::temp_store().await;
    let second = match SqliteStore::connect(&first.url()).await {
        Ok(store) => store,
        Err(e) => panic!("second pool on {}: {e:?}", first.url()),
    };
    let a: DynTokenStore = Arc::new(first);
    race(a, Arc::new(second)).await;
}

/// How many tokens the two pools fight over, and how many tasks per pool per token.
const TOKENS: usize = 40;
const TASKS_PER_POOL: usize = 4;

/// Both stores rotate every token at once; returns nothing, panics on any breach.
async fn race(a: DynTokenStore, b: DynTokenStore) {
    let t = epoch();
    let now = t + Duration::seconds(1);
    let mut logins = Vec::new();
    for _ in 0..TOKENS {
        let l = login("race", t, TOKEN_TTL);
        if let Err(e) = a.insert_family(&l.family, &l.first).await {
            panic!("login failed: {e:?}");
        }
        logins.push(l);
    }
    let start = Arc::new(Barrier::new(TOKENS * TASKS_PER_POOL * 2));
    let mut racers = Vec::new();
    for (i, l) in logins.iter().enumerate() {
        for k in 0..TASKS_PER_POOL * 2 {
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
    let mut winners: Vec<Vec<TokenId>> = vec![Vec::new(); TOKENS];
    let mut losers: Vec<Vec<Option<TokenId>>> = vec![Vec::new(); TOKENS];
    for (i, new, handle) in racers {
        match handle.await {
            Ok(Ok(Rotation::Rotated { .. })) => winners[i].push(new.id),
            Ok(Ok(Rotation::Consumed { child, .. })) => losers[i].push(child.map(|c| c.id)),
            Ok(other) => panic!("token {i}: unexpected outcome {other:?}"),
            Err(e) => panic!("token {i}: racing task failed: {e}"),
        }
    }
    for i in 0..TOKENS {
        let [winner] = winners[i][..] else {
            panic!("token {i}: {} winners across two pools", winners[i].len());
        };
        for child in &losers[i] {
            assert_eq!(
                *child,
                Some(winner),
                "token {i}: a loser was told of a child other than the winner's token"
            );
        }
        let state = match b.token_status("race", logins[i].first.id).await {
            Ok(Some(state)) => state,
            other => panic!("token {i}: status after the race: {other:?}"),
        };
        assert_eq!(state.token.child, Some(winner), "token {i}: stored child");
    }
}
