//! What every check shares: a store plus a record of what the check put in it, so "nothing
//! else changed" is one comparison of before and after.

use std::error::Error as StdError;

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{
    DynTokenStore, Family, FamilyId, NewToken, Result, Rotation, TokenId, TokenState, TokenStore,
};

use crate::fixtures::{Login, TOKEN_TTL, login, new_token};

/// Unwraps a store result, failing the check with the clause and the whole error chain.
#[track_caller]
pub(crate) fn must<T>(result: Result<T>, clause: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{clause}: the store failed: {}", describe(&e)),
    }
}

/// An error and its sources, one line.
pub(crate) fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The rotation of `old` into `child` is stored both ways: `old`'s child is `child`, and
/// `child` is stored with parent `old`. `context` names the check (and round) on failure.
pub(crate) async fn assert_rotated_into(
    store: &dyn TokenStore,
    subject: &str,
    old: TokenId,
    child: TokenId,
    context: &str,
) {
    let stored_old = must(store.token_status(subject, old).await, context);
    assert_eq!(
        stored_old.and_then(|s| s.token.child),
        Some(child),
        "{context}: the old token's child must be the winner's token"
    );
    let stored_child = must(store.token_status(subject, child).await, context);
    assert_eq!(
        stored_child.and_then(|s| s.token.parent),
        Some(old),
        "{context}: the winner's token must be stored with parent = old"
    );
}

/// One record as the store reports it; `None` when it does not exist.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Observed {
    Token(String, TokenId, Option<TokenState>),
    Family(String, FamilyId, Option<Family>),
}

impl Observed {
    pub(crate) fn exists(&self) -> bool {
        match self {
            Observed::Token(_, _, state) => state.is_some(),
            Observed::Family(_, _, state) => state.is_some(),
        }
    }
}

/// A store under test and every id a check has used with it (including ids that must not
/// exist, such as the new token of a refused rotation).
#[derive(Debug)]
pub(crate) struct Fixture {
    store: DynTokenStore,
    clause: &'static str,
    tokens: Vec<(String, TokenId)>,
    families: Vec<(String, FamilyId)>,
}

impl Fixture {
    pub(crate) fn new(store: DynTokenStore, clause: &'static str) -> Self {
        Fixture {
            store,
            clause,
            tokens: Vec::new(),
            families: Vec::new(),
        }
    }

    pub(crate) fn store(&self) -> &dyn TokenStore {
        &*self.store
    }

    #[track_caller]
    pub(crate) fn must<T>(&self, result: Result<T>) -> T {
        must(result, self.clause)
    }

    /// Inserts a login with the default lifetime.
    pub(crate) async fn login(&mut self, subject: &str, at: OffsetDateTime) -> Login {
        self.login_for(subject, at, TOKEN_TTL).await
    }

    /// Inserts a login whose first token lives for `ttl`.
    pub(crate) async fn login_for(
        &mut self,
        subject: &str,
        at: OffsetDateTime,
        ttl: Duration,
    ) -> Login {
        let l = login(subject, at, ttl);
        self.insert(&l).await;
        l
    }

    /// Inserts `l`, which must succeed.
    pub(crate) async fn insert(&mut self, l: &Login) {
        self.remember(&l.family.subject, l.first.id, l.family.id);
        let result = self.store.insert_family(&l.family, &l.first).await;
        self.must(result);
    }

    /// Remembers ids so that snapshots cover them, whether or not they exist.
    pub(crate) fn remember(&mut self, subject: &str, token: TokenId, family: FamilyId) {
        self.remember_token(subject, token);
        self.remember_family(subject, family);
    }

    pub(crate) fn remember_token(&mut self, subject: &str, token: TokenId) {
        self.tokens.push((subject.to_owned(), token));
    }

    pub(crate) fn remember_family(&mut self, subject: &str, family: FamilyId) {
        self.families.push((subject.to_owned(), family));
    }

    /// Rotates `old` at `at` to a fresh token with the default lifetime; must rotate.
    pub(crate) async fn rotate(
        &mut self,
        subject: &str,
        old: TokenId,
        at: OffsetDateTime,
    ) -> NewToken {
        self.rotate_for(subject, old, at, TOKEN_TTL).await
    }

    /// Rotates `old` at `at` to a fresh token living `ttl`; must rotate.
    pub(crate) async fn rotate_for(
        &mut self,
        subject: &str,
        old: TokenId,
        at: OffsetDateTime,
        ttl: Duration,
    ) -> NewToken {
        let new = new_token(at, ttl);
        let outcome = self.try_rotate_to(subject, old, &new, at).await;
        assert!(
            matches!(outcome, Rotation::Rotated { .. }),
            "{}: setup rotation of a live token must rotate, got {outcome:?}",
            self.clause
        );
        new
    }

    /// Attempts a rotation of `old` at `at` to a fresh token; returns it and the outcome.
    pub(crate) async fn try_rotate(
        &mut self,
        subject: &str,
        old: TokenId,
        at: OffsetDateTime,
    ) -> (NewToken, Rotation) {
        let new = new_token(at, TOKEN_TTL);
        let outcome = self.try_rotate_to(subject, old, &new, at).await;
        (new, outcome)
    }

    async fn try_rotate_to(
        &mut self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        at: OffsetDateTime,
    ) -> Rotation {
        self.tokens.push((subject.to_owned(), new.id));
        let result = self.store.rotate(subject, old, new, at).await;
        self.must(result)
    }

    pub(crate) async fn token(&self, subject: &str, id: TokenId) -> Option<TokenState> {
        let result = self.store.token_status(subject, id).await;
        self.must(result)
    }

    pub(crate) async fn family(&self, subject: &str, id: FamilyId) -> Option<Family> {
        let result = self.store.family_status(subject, id).await;
        self.must(result)
    }

    /// Everything the store reports about every id this check has used.
    pub(crate) async fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        for (subject, id) in &self.tokens {
            let state = self.token(subject, *id).await;
            snap.tokens
                .push(Observed::Token(subject.clone(), *id, state));
        }
        for (subject, id) in &self.families {
            let state = self.family(subject, *id).await;
            snap.families
                .push(Observed::Family(subject.clone(), *id, state));
        }
        snap
    }

    /// Fails the check unless the store reports exactly `before` for every id known then,
    /// and nothing for ids used since (such as the new token of a refused rotation).
    pub(crate) async fn assert_unchanged(&self, before: &Snapshot, what: &str) {
        let after = self.snapshot().await;
        let pairs = [
            (&before.tokens, &after.tokens),
            (&before.families, &after.families),
        ];
        for (before, after) in pairs {
            for (b, a) in before.iter().zip(after) {
                assert_eq!(
                    b, a,
                    "{}: {what} must change nothing, but this record changed",
                    self.clause
                );
            }
            for extra in after.iter().skip(before.len()) {
                assert!(
                    !extra.exists(),
                    "{}: {what} must store nothing, but found {extra:?}",
                    self.clause
                );
            }
        }
    }
}

/// What the store reported for every id a check knew at one moment.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    tokens: Vec<Observed>,
    families: Vec<Observed>,
}
