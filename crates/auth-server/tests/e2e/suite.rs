//! The scenarios every backend runs, each against a fresh `authd` process.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// Login, refresh, reuse detection, logout (session and global), revoke, introspect, and
/// the JWKS check of every issued token.
pub async fn token_lifecycle(store: &str) {
    let f = Fixture::new(store);
    let authd = f.start(&[]);
    let c = authd.client();
    let other_user = format!("{}-2", f.user);

    let health = c.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    let jwks = c.get("/.well-known/jwks.json").await.body;

    // Login: short and long term.
    let long = c.login(&f.user, &f.password, false).await;
    assert_eq!(long.headers["cache-control"], "no-store");
    assert_eq!(long.headers["pragma"], "no-cache");
    assert_eq!(long.body["token_type"], "bearer");
    assert_eq!(long.body["expires_in"], 900);
    let (a0, r0) = long.pair();
    let access = verify_with_jwks(&jwks, &a0, "access");
    let refresh = verify_with_jwks(&jwks, &r0, "refresh");
    assert_eq!(access["unique_name"], f.user.as_str());
    assert_eq!(refresh["short_term_expiration"], "False");
    let (_, rs) = c.login(&f.user, &f.password, true).await.pair();
    assert_eq!(
        verify_with_jwks(&jwks, &rs, "refresh")["short_term_expiration"],
        "True"
    );

    c.login(&f.user, "wrong", false)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    c.login("nobody-at-all", &f.password, false)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Refresh, then reuse: the whole family goes.
    let (a1, r1) = c.refresh(&r0).await.pair();
    verify_with_jwks(&jwks, &a1, "access");
    assert_eq!(claims(&a1)["sid"], claims(&a0)["sid"]);
    let (_, r2) = c.refresh(&r1).await.pair();
    assert_eq!(
        verify_with_jwks(&jwks, &r2, "refresh")["short_term_expiration"],
        "False"
    );
    c.refresh(&r1)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    c.refresh(&r2)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The other session survived.
    let (_, rs2) = c.refresh(&rs).await.pair();

    // Introspect.
    let live = c.introspect(&rs2).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["token_id"], claims(&rs2)["token_id"]);
    assert_eq!(
        c.introspect(&rs).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(c.introspect(&r2).await["active"], false);
    assert_eq!(c.introspect(&a1).await["active"], false, "revoked by reuse");

    // Logout of one session.
    let (a3, r3) = c.login(&f.user, &f.password, false).await.pair();
    assert_eq!(c.introspect(&a3).await["sid"], claims(&a3)["sid"]);
    let out = c.logout(&a3, false).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(out.headers["cache-control"], "no-store");
    c.refresh(&r3)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(c.logout(&a3, false).await.status, StatusCode::NO_CONTENT);
    let no_bearer = c.get("/api/v1/token").await;
    assert_eq!(
        no_bearer.status,
        StatusCode::BAD_REQUEST,
        "no version header"
    );

    // Revoke (RFC 7009).
    let (_, r4) = c.login(&f.user, &f.password, false).await.pair();
    assert_eq!(c.revoke(&r4).await.status, StatusCode::OK);
    assert_eq!(c.revoke("not-a-token").await.status, StatusCode::OK);
    c.refresh(&r4)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Global logout: every session of the user, nobody else's.
    let (a5, r5) = c.login(&f.user, &f.password, false).await.pair();
    let (_, r6) = c.login(&f.user, &f.password, true).await.pair();
    let (_, theirs) = c.login(&other_user, "other", false).await.pair();
    assert_eq!(c.logout(&a5, true).await.status, StatusCode::NO_CONTENT);
    for r in [&r5, &r6, &rs2] {
        c.refresh(r)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    c.refresh(&theirs).await.pair();

    // One log line per request, and no secret in any of them.
    let log = authd.log();
    assert!(log.contains("path=/api/v1/token"), "{log}");
    for secret in [&a0, &r0, &f.password, &rs2] {
        assert!(!log.contains(secret.as_str()), "a secret reached the log");
    }
    assert!(authd.stop().success());
}

/// 24 concurrent refreshes of one token: exactly one 200 with no reuse grace; with a grace,
/// every 200 carries the same token_id.
pub async fn concurrent_refreshes(store: &str) {
    let f = Fixture::new(store);
    for (grace, exactly_one) in [("0s", true), ("30s", false)] {
        let authd = f.start(&["--reuse-grace", grace]);
        let c = authd.client();
        let (_, refresh) = c.login(&f.user, &f.password, false).await.pair();
        let replies = futures::future::join_all((0..24).map(|_| c.refresh(&refresh))).await;
        let ok: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
            r.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        if exactly_one {
            assert_eq!(ok.len(), 1, "grace {grace}");
        } else {
            assert!(!ok.is_empty());
            let ids: HashSet<Value> = ok
                .iter()
                .map(|r| claims(&r.pair().1)["token_id"].clone())
                .collect();
            assert_eq!(ids.len(), 1, "grace {grace}: {ids:?}");
        }
        assert!(authd.stop().success());
    }
}

/// Tokens survive a restart; a new signing key with the old one as `--verify-key` logs
/// nobody out.
pub async fn restart_and_key_rotation(store: &str) {
    let f = Fixture::new(store);
    let authd = f.start(&[]);
    let c = authd.client();
    let (a0, r0) = c.login(&f.user, &f.password, false).await.pair();
    let (_, gone) = c.login(&f.user, &f.password, false).await.pair();
    c.refresh(&gone).await.pair();
    // Untouched until the old key is dropped.
    let (a_keep, r_keep) = c.login(&f.user, &f.password, false).await.pair();
    assert!(authd.stop().success(), "graceful shutdown exits 0");

    // Restart: same key, same store.
    let authd = f.start(&[]);
    let c = authd.client();
    let (a1, r1) = c.refresh(&r0).await.pair();
    c.refresh(&gone)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(c.introspect(&a0).await["active"], true);
    assert!(authd.stop().success());

    // Rotate: a new signing key, the old one verify-only.
    let new_key = auth_tokens::SigningKey::generate_rsa(auth_tokens::Algorithm::RS512).unwrap();
    write_private(&f.path("new.pem"), &new_key.to_pkcs8_pem());
    let new = f.path("new.pem");
    let old = f.path("key.pem");
    let authd = f.start(&[
        "--key",
        new.to_str().unwrap(),
        "--verify-key",
        old.to_str().unwrap(),
    ]);
    let c = authd.client();
    let jwks = c.get("/.well-known/jwks.json").await.body;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // Old tokens still verify and refresh; new ones are signed by the new key.
    verify_with_jwks(&jwks, &a1, "access");
    assert_eq!(c.introspect(&a1).await["active"], true);
    let (a2, r2) = c.refresh(&r1).await.pair();
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_eq!(kid(&a2), new_key.kid());
    assert_eq!(kid(&r2), new_key.kid());
    assert_ne!(kid(&a1), new_key.kid());
    verify_with_jwks(&jwks, &r2, "refresh");
    assert_eq!(c.logout(&a1, false).await.status, StatusCode::NO_CONTENT);
    c.refresh(&r2)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(authd.stop().success());

    // Without the old key its tokens are refused...
    let authd = f.start(&["--key", new.to_str().unwrap()]);
    let c = authd.client();
    c.refresh(&r_keep)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        c.logout(&a_keep, false).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(authd.stop().success());
    // ...for that reason alone: with it back, they work.
    let authd = f.start(&[
        "--key",
        new.to_str().unwrap(),
        "--verify-key",
        old.to_str().unwrap(),
    ]);
    authd.client().refresh(&r_keep).await.pair();
    assert!(authd.stop().success());
}

/// Short TTLs: access and refresh tokens stop working when they expire.
pub async fn expiry(store: &str) {
    let f = Fixture::new(store);
    let authd = f.start(&[
        "--access-ttl",
        "1s",
        "--refresh-ttl",
        "2s",
        "--leeway",
        "0s",
    ]);
    let c = authd.client();
    let login = c.login(&f.user, &f.password, true).await;
    assert_eq!(login.body["expires_in"], 1);
    let (access, refresh) = login.pair();
    let rc = claims(&refresh);
    assert_eq!(rc["exp"].as_i64().unwrap() - rc["iat"].as_i64().unwrap(), 2);
    let (_, long) = c.login(&f.user, &f.password, false).await.pair();
    // Wait until just past the refresh token's exp (whole seconds).
    let exp = rc["exp"].as_i64().unwrap();
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        if now.as_secs() as i64 >= exp {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(c.introspect(&access).await["active"], false);
    assert_eq!(c.introspect(&refresh).await["active"], false);
    let out = c.logout(&access, false).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        out.headers["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    // The long-term refresh token (default 14 d) still works.
    c.refresh(&long).await.pair();
    assert!(authd.stop().success());
}
