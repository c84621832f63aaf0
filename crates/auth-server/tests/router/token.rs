//! POST /api/v1/token: the grants, the 200 body, the JWTs, rotation and reuse.

use std::collections::HashSet;

use auth_tokens::Config;
use auth_tokens::time::Duration;
use axum::http::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn password_grant_returns_exactly_the_contract_body() {
    let h = Harness::new();
    let r = h.login_as(ALICE, "").await;
    r.assert_status(StatusCode::OK);
    let body = r.json();
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "access_token",
            "token_type",
            "refresh_token",
            "expires_in",
            ".issued",
            ".expires"
        ])
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    // START is 2030-01-02T03:04:05Z; .expires = .issued + expires_in.
    assert_eq!(body[".issued"], "2030-01-02T03:04:05");
    assert_eq!(body[".expires"], "2030-01-02T03:19:05");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn issued_and_expires_follow_the_access_ttl() {
    let h = Harness::with_config(Config::default().with_access_ttl(Duration::seconds(3661)));
    h.advance(55);
    let body = h.login_as(ALICE, "").await.json();
    assert_eq!(body["expires_in"], 3661);
    assert_eq!(body[".issued"], "2030-01-02T03:05:00");
    assert_eq!(body[".expires"], "2030-01-02T04:06:01");
}

#[tokio::test]
async fn jwt_headers_and_claims_are_the_contract_ones() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    let kid = h.service.keys().signing_key().kid().to_owned();

    let (header, claims) = decode(&access);
    assert_eq!(
        header,
        serde_json::json!({"alg": "RS512", "kid": kid, "typ": "JWT"})
    );
    let names: HashSet<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        HashSet::from(["unique_name", "sid", "nbf", "exp", "iat", "aud"])
    );
    assert_eq!(claims["unique_name"], "alice");
    assert_eq!(claims["aud"], "access");
    assert_eq!(claims["iat"], START);
    assert_eq!(claims["nbf"], START);
    assert_eq!(claims["exp"], START + 900);
    let sid = claims["sid"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(sid).unwrap().hyphenated().to_string(),
        sid
    );

    let (header, claims) = decode(&refresh);
    assert_eq!(
        header,
        serde_json::json!({"alg": "RS512", "kid": kid, "typ": "JWT"})
    );
    let names: HashSet<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        HashSet::from([
            "unique_name",
            "token_id",
            "short_term_expiration",
            "nbf",
            "exp",
            "iat",
            "aud"
        ])
    );
    assert_eq!(claims["aud"], "refresh");
    assert_eq!(claims["short_term_expiration"], "False");
    assert_eq!(claims["exp"], START + 14 * 24 * 3600);
    let id = claims["token_id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(uuid.hyphenated().to_string(), id, "lowercase hyphenated");
}

#[tokio::test]
async fn short_term_flag_picks_the_refresh_ttl_and_rotation_keeps_the_kind() {
    let h = Harness::with_config(
        Config::default()
            .with_refresh_ttl(Duration::seconds(600))
            .with_long_refresh_ttl(Duration::seconds(7200)),
    );
    for (extra, flag, ttl) in [
        ("&use_short_term_refresh=true", "True", 600),
        ("&use_short_term_refresh=false", "False", 7200),
        ("", "False", 7200),
    ] {
        let r = h.login_as(ALICE, extra).await;
        r.assert_status(StatusCode::OK);
        let (_, refresh) = r.pair();
        let (_, c) = decode(&refresh);
        assert_eq!(c["short_term_expiration"], flag, "{extra}");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), ttl);

        // Each rotation keeps the kind and restarts the lifetime.
        h.advance(100);
        let r = h.refresh(&refresh).await;
        r.assert_status(StatusCode::OK);
        let (_, c2) = decode(&r.pair().1);
        assert_eq!(c2["short_term_expiration"], flag);
        assert_eq!(
            c2["iat"].as_i64().unwrap(),
            c["iat"].as_i64().unwrap() + 100
        );
        assert_eq!(
            c2["exp"].as_i64().unwrap() - c2["iat"].as_i64().unwrap(),
            ttl
        );
    }
}

#[tokio::test]
async fn logging_in_again_starts_a_new_family_and_keeps_the_old_one() {
    let h = Harness::new();
    let (a1, r1) = h.login().await;
    let (a2, r2) = h.login().await;
    assert_ne!(decode(&a1).1["sid"], decode(&a2).1["sid"]);
    h.refresh(&r1).await.assert_status(StatusCode::OK);
    h.refresh(&r2).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn bad_user_and_bad_password_get_the_same_answer() {
    let h = Harness::new();
    let wrong_pw = h.login_as(("alice", "nope"), "").await;
    let no_user = h.login_as(("mallory", "correct horse"), "").await;
    let other_pw = h.login_as(("alice", BOB.1), "").await;
    wrong_pw.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(wrong_pw.body, no_user.body);
    assert_eq!(wrong_pw.body, other_pw.body);
    assert_eq!(wrong_pw.headers.len(), no_user.headers.len());
}

#[tokio::test]
async fn refresh_consumes_the_token() {
    let h = Harness::new();
    let (_, refresh) = h.login().await;
    let r = h.refresh(&refresh).await;
    r.assert_status(StatusCode::OK);
    let (access2, refresh2) = r.pair();
    assert_ne!(refresh, refresh2);
    assert_eq!(decode(&access2).1["unique_name"], "alice");
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn reuse_outside_the_grace_revokes_the_whole_family() {
    let h = Harness::new();
    let (_, other_family) = h.login().await;
    let (_, r0) = h.login().await;
    let (_, r1) = h.refresh(&r0).await.pair();
    let (_, r2) = h.refresh(&r1).await.pair();
    // r0 again: the thief or the victim; either way the session ends.
    h.refresh(&r0)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    h.refresh(&r2)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Nobody else's session is touched.
    h.refresh(&other_family).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn reuse_inside_the_grace_returns_the_same_pair() {
    let h = Harness::with_config(Config::default().with_reuse_grace(Duration::seconds(10)));
    let (_, r0) = h.login().await;
    let first = h.refresh(&r0).await;
    first.assert_status(StatusCode::OK);
    h.advance(5);
    let retry = h.refresh(&r0).await;
    retry.assert_status(StatusCode::OK);
    let (a1, r1) = first.pair();
    let (a2, r2) = retry.pair();
    // Same child: same token_id, sid, kind, iat and exp (so the same JWTs).
    assert_eq!(decode(&r1).1, decode(&r2).1);
    assert_eq!(decode(&a1).1["sid"], decode(&a2).1["sid"]);
    assert_eq!(first.json()[".issued"], retry.json()[".issued"]);
    // Nothing was revoked: the child still works, once.
    h.refresh(&r1).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn grace_does_not_cover_a_used_child_or_a_late_retry() {
    let h = Harness::with_config(Config::default().with_reuse_grace(Duration::seconds(10)));
    // The child was already exchanged: the retry is reuse.
    let (_, r0) = h.login().await;
    let (_, r1) = h.refresh(&r0).await.pair();
    let (_, r2) = h.refresh(&r1).await.pair();
    h.refresh(&r0)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    h.refresh(&r2)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Past the grace: reuse.
    let (_, r0) = h.login().await;
    let (_, r1) = h.refresh(&r0).await.pair();
    h.advance(11);
    h.refresh(&r0)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    h.refresh(&r1)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_revoked_family_is_checked_before_the_grace() {
    let h = Harness::with_config(Config::default().with_reuse_grace(Duration::seconds(10)));
    let (access, r0) = h.login().await;
    let (_, _r1) = h.refresh(&r0).await.pair();
    h.logout(&access, "")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    h.refresh(&r0)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
    let h = Harness::new();
    let (_, refresh) = h.login().await;
    let replies = futures::future::join_all((0..24).map(|_| h.refresh(&refresh))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1);
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn concurrent_refreshes_inside_the_grace_converge_on_one_token() {
    let h = Harness::with_config(Config::default().with_reuse_grace(Duration::seconds(30)));
    let (_, refresh) = h.login().await;
    let replies = futures::future::join_all((0..24).map(|_| h.refresh(&refresh))).await;
    let ids: HashSet<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| {
            decode(&r.pair().1).1["token_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(replies.iter().any(|r| r.status == StatusCode::OK));
    assert_eq!(ids.len(), 1, "{ids:?}");
}

/// Every way a refresh token can be bad is one answer: 400 invalid_grant.
#[tokio::test]
async fn invalid_refresh_tokens_are_invalid_grant() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    let (header, _) = decode(&refresh);

    let mut bad_sig = refresh.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'B' } else { 'A' });

    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = Value::from("not-our-key");
    let mut wrong_alg = header.clone();
    wrong_alg["alg"] = Value::from("RS256");
    let mut no_kid = header.clone();
    no_kid.as_object_mut().unwrap().remove("kid");

    // Signed by a key this server does not hold.
    let stranger = Harness::with_keys(
        auth_tokens::KeySet::new(auth_tokens::SigningKey::generate_ed25519().unwrap()),
        Config::default(),
    );
    let (_, foreign) = stranger.login().await;

    let cases: Vec<(&str, String)> = vec![
        ("bad signature", bad_sig),
        ("unknown kid", with_header(&refresh, &unknown_kid)),
        ("no kid", with_header(&refresh, &no_kid)),
        ("alg not the key's", with_header(&refresh, &wrong_alg)),
        ("foreign key", foreign),
        ("access token (aud)", access),
        ("malformed", "not.a.jwt".to_owned()),
        ("garbage", "%%%".to_owned()),
    ];
    for (what, token) in cases {
        let r = h.refresh(&token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(r.json()["error"], "invalid_grant", "{what}");
    }
    // None of that touched the real token.
    h.refresh(&refresh).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn expired_and_not_yet_valid_refresh_tokens_are_invalid_grant() {
    let h = Harness::with_config(
        Config::default()
            .with_refresh_ttl(Duration::seconds(100))
            .with_leeway(Duration::seconds(5)),
    );
    let (_, refresh) = h
        .login_as(ALICE, "&use_short_term_refresh=true")
        .await
        .pair();
    // nbf in the future (beyond the leeway).
    h.advance(-6);
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Expired (beyond the leeway).
    h.advance(6 + 105);
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Inside the leeway on both sides it still works.
    let (_, refresh) = h
        .login_as(ALICE, "&use_short_term_refresh=true")
        .await
        .pair();
    h.advance(-4);
    h.refresh(&refresh).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_invalid_grant() {
    let h = Harness::new();
    let (_, refresh) = h.login().await;
    h.post_form("/api/v1/token/revoke", &format!("token={}", enc(&refresh)))
        .await
        .assert_status(StatusCode::OK);
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn store_down_is_503_with_retry_after_and_recovers() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    h.store.set_down(true);
    let replies = [
        h.login_as(ALICE, "").await,
        h.refresh(&refresh).await,
        h.logout(&access, "").await,
        h.post_form("/api/v1/token/revoke", &format!("token={}", enc(&refresh)))
            .await,
        h.post_form(
            "/api/v1/token/introspect",
            &format!("token={}", enc(&refresh)),
        )
        .await,
    ];
    for r in &replies {
        r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        assert!(r.header("retry-after").is_some());
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    let health = h
        .send(
            axum::http::Request::get("/healthz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    health.assert_status(StatusCode::SERVICE_UNAVAILABLE);

    h.store.set_down(false);
    // The failed refresh consumed nothing: the token still works.
    h.refresh(&refresh).await.assert_status(StatusCode::OK);
    h.login_as(ALICE, "").await.assert_status(StatusCode::OK);
}

/// Password checks are bounded and off the async threads: a burst of logins queues on
/// the argon2 slots while a refresh goes straight through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_does_not_starve_refreshes() {
    use auth_server::{Users, hash_password_with};
    use std::time::Instant;
    // Costly enough (tens of ms each, argon2 being optimised even in dev builds) that the
    // queue of 8 dwarfs one refresh by a wide margin on a loaded machine.
    let params = argon2::Params::new(16 * 1024, 2, 1, None).unwrap();
    let users = Users::new(
        [(
            ALICE.0.to_owned(),
            hash_password_with(ALICE.1, params).unwrap(),
        )],
        1,
    )
    .unwrap();
    let h = Harness::with_users(users);
    let (_, refresh) = h.login().await;

    let started = Instant::now();
    let flood = futures::future::join_all((0..8).map(|_| h.login_as(ALICE, "")));
    let refresh_alone = async {
        // Let the flood take the slot first.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let t = Instant::now();
        h.refresh(&refresh).await.assert_status(StatusCode::OK);
        t.elapsed()
    };
    let (logins, refresh_took) = tokio::join!(flood, refresh_alone);
    let flood_took = started.elapsed();
    for r in logins {
        r.assert_status(StatusCode::OK);
    }
    assert!(
        refresh_took * 4 < flood_took,
        "refresh took {refresh_took:?} while 8 logins took {flood_took:?}"
    );
}
