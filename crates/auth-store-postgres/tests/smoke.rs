//! Temporary: a fixed scenario run against MemoryStore and this store, outcomes compared.

mod common;

use auth_core::{
    DynTokenStore, Family, FamilyId, MemoryStore, NewToken, RevokeReason, TokenId, TokenStore,
};
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    auth_core::to_micros(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap())
        + Duration::microseconds(123_456)
}

async fn scenario(s: DynTokenStore) -> Vec<String> {
    let mut out = Vec::new();
    let now = t0();
    let fam = Family {
        id: FamilyId::from_uuid(uuid::Uuid::from_u128(1)),
        subject: "alice".into(),
        long_term: true,
        created_at: now,
        revoked: None,
    };
    let tok = |n: u128, exp: i64| NewToken {
        id: TokenId::from_uuid(uuid::Uuid::from_u128(n)),
        issued_at: now,
        expires_at: now + Duration::seconds(exp),
    };
    let id = |n: u128| TokenId::from_uuid(uuid::Uuid::from_u128(n));
    out.push(format!(
        "{:?}",
        s.insert_family(&fam, &tok(10, 100))
            .await
            .map_err(|e| matches!(e, auth_core::Error::Conflict { .. }))
    ));
    out.push(format!(
        "{:?}",
        s.insert_family(&fam, &tok(11, 100))
            .await
            .map_err(|e| matches!(e, auth_core::Error::Conflict { .. }))
    ));
    out.push(format!(
        "{:?}",
        s.rotate("bob", id(10), &tok(12, 100), now).await
    ));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(10), &tok(12, 50), now).await
    ));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(10), &tok(13, 100), now).await
    ));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(12), &tok(10, 100), now)
            .await
            .map_err(|e| matches!(e, auth_core::Error::Conflict { .. }))
    ));
    out.push(format!("{:?}", s.token_status("alice", id(12)).await));
    out.push(format!("{:?}", s.token_status("alice", id(10)).await));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(12), &tok(14, 100), now + Duration::seconds(50))
            .await
    ));
    out.push(format!(
        "{:?}",
        s.purge_expired(now + Duration::seconds(60), 1).await
    ));
    out.push(format!(
        "{:?}",
        s.purge_expired(now + Duration::seconds(60), 10).await
    ));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(10), &tok(13, 100), now).await
    ));
    out.push(format!(
        "{:?}",
        s.revoke_token("alice", id(10), RevokeReason::Reuse, now)
            .await
    ));
    out.push(format!(
        "{:?}",
        s.rotate("alice", id(12), &tok(15, 100), now).await
    ));
    out.push(format!(
        "{:?}",
        s.revoke_subject("alice", RevokeReason::Logout, now).await
    ));
    out.push(format!("{:?}", s.family_status("alice", fam.id).await));
    out.push(format!(
        "{:?}",
        s.purge_expired(now + Duration::seconds(200), 1).await
    ));
    out.push(format!(
        "{:?}",
        s.purge_expired(now + Duration::seconds(200), 1).await
    ));
    out.push(format!(
        "{:?}",
        s.purge_expired(now + Duration::seconds(200), 1).await
    ));
    out.push(format!("{:?}", s.family_status("alice", fam.id).await));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn same_outcomes_as_memory() {
    let want = scenario(std::sync::Arc::new(MemoryStore::new())).await;
    let got = scenario(common::store().await).await;
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        eprintln!("{g}");
        assert_eq!(w, g);
    }
}
