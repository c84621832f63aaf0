//! `insert_family`, `token_status` and `family_status`.

use auth_core::time::Duration;
use auth_core::{DynTokenStore, Error, FamilyId, RefreshToken, RevokeReason, TokenId, TokenState};

use crate::fixtures::{TOKEN_TTL, epoch, login};
use crate::support::Fixture;

/// A login is stored exactly: `token_status` and `family_status` return the records as
/// inserted, times to the microsecond, for short- and long-term families alike.
pub async fn check_insert_then_status_returns_it(store: DynTokenStore) {
    const CLAUSE: &str = "insert_family then token_status/family_status";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let alice = fx.login("alice", t).await;
    let mut bob = login("bob", t + Duration::milliseconds(1_500), TOKEN_TTL * 2);
    bob.family.long_term = true;
    fx.insert(&bob).await;

    for l in [&alice, &bob] {
        let subject = l.family.subject.as_str();
        let expected = TokenState {
            token: RefreshToken {
                id: l.first.id,
                family: l.family.id,
                subject: subject.to_owned(),
                issued_at: l.first.issued_at,
                expires_at: l.first.expires_at,
                consumed_at: None,
                parent: None,
                child: None,
            },
            family: l.family.clone(),
        };
        assert_eq!(
            fx.token(subject, l.first.id).await,
            Some(expected),
            "{CLAUSE}: token_status must return the first token and its family as inserted"
        );
        assert_eq!(
            fx.family(subject, l.family.id).await,
            Some(l.family.clone()),
            "{CLAUSE}: family_status must return the family as inserted (created_at to the µs)"
        );
    }
}

/// Inserting a family id that the subject already has is [`Error::Conflict`] and changes
/// nothing: the new first token is not stored, the existing family keeps its record.
///
/// Ids need only be unique per subject: whether a store also refuses a family id that
/// *another* subject holds is unspecified, so that case is not tested either way.
pub async fn check_insert_duplicate_family_conflicts(store: DynTokenStore) {
    const CLAUSE: &str = "insert_family with a family id the subject has -> Conflict";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let original = fx.login("alice", t).await;
    let revoked = fx.login("alice", t).await;
    let changed = fx.must(
        fx.store()
            .revoke_family("alice", revoked.family.id, RevokeReason::Logout, t)
            .await,
    );
    assert_eq!(changed, 1, "{CLAUSE}: setup revoke_family must revoke");
    let before = fx.snapshot().await;

    // A live family and a revoked one (a refused login must not un-revoke it either).
    for taken in [&original, &revoked] {
        let mut dup = login("alice", t + Duration::seconds(1), TOKEN_TTL * 2);
        dup.family.id = taken.family.id;
        dup.family.long_term = true;
        fx.remember_token("alice", dup.first.id);
        let result = fx.store().insert_family(&dup.family, &dup.first).await;
        assert!(
            matches!(result, Err(Error::Conflict { .. })),
            "{CLAUSE}: a second family {} for the same subject must be refused with \
             Conflict, got {result:?}",
            taken.family.id
        );
    }
    fx.assert_unchanged(&before, "a refused insert_family")
        .await;
}

/// Inserting a token id that the subject already has (a first token or a rotated child,
/// in any of its families) is [`Error::Conflict`] and changes nothing: the new family is
/// not stored and the existing token keeps its record.
///
/// As for families, a token id held by another subject is not tested either way.
pub async fn check_insert_duplicate_token_conflicts(store: DynTokenStore) {
    const CLAUSE: &str = "insert_family with a token id the subject has -> Conflict";
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let original = fx.login("alice", t).await;
    // A rotated child is as much an existing token as a first one.
    let child = fx
        .rotate("alice", original.first.id, t + Duration::minutes(1))
        .await;
    let before = fx.snapshot().await;

    for taken in [original.first.id, child.id] {
        let mut dup = login("alice", t + Duration::seconds(2), TOKEN_TTL);
        dup.first.id = taken;
        fx.remember_family("alice", dup.family.id);
        let result = fx.store().insert_family(&dup.family, &dup.first).await;
        assert!(
            matches!(result, Err(Error::Conflict { .. })),
            "{CLAUSE}: a new family for the same subject reusing token {taken} must be \
             refused with Conflict, got {result:?}"
        );
    }
    fx.assert_unchanged(&before, "a refused insert_family")
        .await;
}

/// Unknown ids read as `None`, and so do existing ones asked for under another subject.
pub async fn check_status_of_unknown_is_none(store: DynTokenStore) {
    const CLAUSE: &str = "token_status/family_status of an unknown id -> None";
    let mut fx = Fixture::new(store, CLAUSE);
    assert_eq!(
        fx.token("alice", TokenId::random()).await,
        None,
        "{CLAUSE}: an empty store has no tokens"
    );
    assert_eq!(
        fx.family("alice", FamilyId::random()).await,
        None,
        "{CLAUSE}: an empty store has no families"
    );

    let alice = fx.login("alice", epoch()).await;
    assert_eq!(
        fx.token("bob", alice.first.id).await,
        None,
        "{CLAUSE}: alice's token asked for as bob's must not exist"
    );
    assert_eq!(
        fx.family("bob", alice.family.id).await,
        None,
        "{CLAUSE}: alice's family asked for as bob's must not exist"
    );
    assert_eq!(
        fx.token("alice", TokenId::random()).await,
        None,
        "{CLAUSE}: a random token id must not exist"
    );
}

/// Subjects are opaque strings: braces, separators, spaces, non-ASCII, empty and long
/// names are stored exactly and never mixed up with each other.
pub async fn check_subjects_are_opaque(store: DynTokenStore) {
    const CLAUSE: &str = "subjects are opaque strings";
    let long = "x".repeat(300);
    let subjects = [
        "",
        "a",
        "a:b",
        "a}",
        "{a}",
        "{a}b",
        "a b",
        "tab\there",
        "Zoë 名前 🙂",
        "'; DROP TABLE tokens; --",
        "%s*?[]\\",
        long.as_str(),
    ];
    let mut fx = Fixture::new(store, CLAUSE);
    let t = epoch();
    let mut logins = Vec::new();
    for s in subjects {
        logins.push(fx.login(s, t).await);
    }
    for l in &logins {
        let s = l.family.subject.as_str();
        let state = fx.token(s, l.first.id).await;
        assert_eq!(
            state.map(|st| (st.token.subject, st.family)),
            Some((s.to_owned(), l.family.clone())),
            "{CLAUSE}: the token of subject {s:?} must read back under exactly that subject"
        );
        for other in subjects.iter().filter(|o| **o != s) {
            assert_eq!(
                fx.token(other, l.first.id).await,
                None,
                "{CLAUSE}: the token of {s:?} must not exist for subject {other:?}"
            );
        }
    }

    let target = "{a}";
    let revoked = fx.must(
        fx.store()
            .revoke_subject(target, RevokeReason::Logout, t)
            .await,
    );
    assert_eq!(
        revoked, 1,
        "{CLAUSE}: revoke_subject({target:?}) must revoke exactly its one family"
    );
    for l in &logins {
        let s = l.family.subject.as_str();
        let family = fx.family(s, l.family.id).await;
        let is_revoked = family.and_then(|f| f.revoked).is_some();
        assert_eq!(
            is_revoked,
            s == target,
            "{CLAUSE}: revoke_subject({target:?}) must revoke the family of {s:?} only if \
             it is that subject"
        );
    }
}
