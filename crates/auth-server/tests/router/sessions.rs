//! Logout, revocation (RFC 7009), introspection (RFC 7662), JWKS, health, and the
//! extractors a host application uses.

use auth_server::{API_VERSION, Authenticated, LiveAuthenticated};
use auth_tokens::time::Duration;
use auth_tokens::{Config, KeySet, SigningKey};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::ServiceExt as _;

use crate::support::*;

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    let (_, other) = h.login().await;
    let r = h.logout(&access, "").await;
    r.assert_status(StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Again, on a revoked family: still 204.
    h.logout(&access, "")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // Only that session.
    h.refresh(&other).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn global_logout_revokes_every_session_of_the_user_only() {
    let h = Harness::new();
    let (access, r1) = h.login().await;
    let (_, r2) = h.login().await;
    let (_, bobs) = h.login_as(BOB, "").await.pair();
    h.logout(&access, "?scope=global")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    for r in [&r1, &r2] {
        h.refresh(r)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    h.refresh(&bobs).await.assert_status(StatusCode::OK);
    // A later login is a fresh session.
    let (_, r3) = h.login().await;
    h.refresh(&r3).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn logout_scope_other_than_global_is_invalid_request() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    for q in [
        "?scope=local",
        "?scope=GLOBAL",
        "?scope=global&scope=global",
    ] {
        h.logout(&access, q)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    h.refresh(&refresh).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn logout_without_a_bearer_token_is_a_bare_401() {
    let h = Harness::new();
    for auth in [None, Some("Basic YWxpY2U6eA==")] {
        let mut req = Request::delete("/api/v1/token").header("x-api-version", API_VERSION);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = h.send(req.body(Body::empty()).unwrap()).await;
        r.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(r.body.is_empty(), "no error code without credentials");
    }
}

#[tokio::test]
async fn logout_with_a_bad_bearer_token_is_invalid_token() {
    let h = Harness::with_config(Config::default().with_access_ttl(Duration::seconds(60)));
    let (access, refresh) = h.login().await;
    let mut tampered = access.clone();
    tampered.insert(tampered.len() - 3, 'x');
    let cases = [
        ("garbage", "garbage".to_owned()),
        ("tampered", tampered),
        ("refresh token", refresh.clone()),
    ];
    for (what, token) in cases {
        let r = h.logout(&token, "").await;
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#),
            "{what}"
        );
    }
    h.advance(66);
    let r = h.logout(&access, "").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn revoke_answers_200_and_revokes_a_refresh_tokens_family() {
    let h = Harness::new();
    let (_, r0) = h.login().await;
    let (_, r1) = h.refresh(&r0).await.pair();
    // Revoking the consumed parent revokes the family, so the child dies too.
    let r = h
        .post_form(
            "/api/v1/token/revoke",
            &format!("token={}&token_type_hint=refresh_token", enc(&r0)),
        )
        .await;
    r.assert_status(StatusCode::OK);
    h.refresh(&r1)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Again, and for tokens that are not ours: 200 (RFC 7009 section 2.2).
    for token in [r0.as_str(), "unknown", "a.b.c"] {
        h.post_form("/api/v1/token/revoke", &format!("token={}", enc(token)))
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn revoke_without_token_is_invalid_request() {
    let h = Harness::new();
    for body in [
        "",
        "token=",
        "token_type_hint=refresh_token",
        "token=a&token=b",
    ] {
        h.post_form("/api/v1/token/revoke", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    h.post_form(
        "/api/v1/token/revoke",
        &format!("token={}&token_type_hint=access_token", enc(&access)),
    )
    .await
    .assert_status(StatusCode::OK);
    h.refresh(&refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn introspect_reports_live_tokens_only() {
    let h = Harness::with_config(Config::default().with_access_ttl(Duration::seconds(60)));
    let (access, refresh) = h.login().await;
    let (_, rc) = decode(&refresh);
    let (_, ac) = decode(&access);

    let body = h.introspect(&refresh).await;
    assert_eq!(
        body,
        serde_json::json!({
            "active": true, "unique_name": "alice", "aud": "refresh",
            "exp": rc["exp"], "iat": rc["iat"], "token_id": rc["token_id"],
        })
    );
    let body = h.introspect(&access).await;
    assert_eq!(
        body,
        serde_json::json!({
            "active": true, "unique_name": "alice", "aud": "access",
            "exp": ac["exp"], "iat": ac["iat"], "sid": ac["sid"],
        })
    );

    // Consumed refresh token: inactive; the access token stays live.
    let (access2, refresh2) = h.refresh(&refresh).await.pair();
    let inactive = serde_json::json!({ "active": false });
    assert_eq!(h.introspect(&refresh).await, inactive);
    assert_eq!(h.introspect(&access).await["active"], true);

    // Expired access token (past the 5 s leeway): inactive.
    h.advance(66);
    assert_eq!(h.introspect(&access).await, inactive);

    // Revoked family: both kinds inactive at once.
    let (access3, _) = h.login().await;
    assert_eq!(h.introspect(&refresh2).await["active"], true);
    h.logout(&access3, "?scope=global")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(h.introspect(&refresh2).await, inactive);
    assert_eq!(h.introspect(&access2).await, inactive);
    assert_eq!(h.introspect(&access3).await, inactive);

    for junk in ["junk", "a.b.c"] {
        assert_eq!(h.introspect(junk).await, inactive);
    }
}

#[tokio::test]
async fn introspect_without_token_is_invalid_request() {
    let h = Harness::new();
    for body in ["", "token=", "token_type_hint=access_token"] {
        h.post_form("/api/v1/token/introspect", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn jwks_publishes_the_signing_key_and_every_verify_key() {
    let old = SigningKey::generate_p256().unwrap();
    let old_public = old.verifying_key().clone();
    let current = SigningKey::from_pem(rsa_pem().as_bytes(), None).unwrap();
    let current_kid = current.kid().to_owned();
    let keys = KeySet::new(current)
        .with_verify_key(old_public.clone())
        .unwrap();
    let h = Harness::with_keys(keys, Config::default());
    let r = h
        .send(
            Request::get("/.well-known/jwks.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let keys = r.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], current_kid.as_str());
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS512");
    assert!(keys[0]["n"].is_string() && keys[0]["e"].is_string());
    assert!(keys[0].get("d").is_none(), "no private parameters");
    assert_eq!(keys[1]["kid"], old_public.kid());
    assert_eq!(keys[1]["kty"], "EC");
    for k in &keys {
        assert_eq!(k["use"], "sig");
    }
}

#[tokio::test]
async fn healthz_follows_the_store() {
    let h = Harness::new();
    let get = || Request::get("/healthz").body(Body::empty()).unwrap();
    h.send(get()).await.assert_status(StatusCode::OK);
    h.store.set_down(true);
    h.send(get())
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    h.store.set_down(false);
    h.send(get()).await.assert_status(StatusCode::OK);
}

/// A host application: its own route, protected by the extractor, beside the token routes.
fn host(h: &Harness) -> Router {
    async fn offline(Authenticated(claims): Authenticated) -> String {
        claims.unique_name
    }
    async fn live(LiveAuthenticated(claims): LiveAuthenticated) -> String {
        claims.sid.to_string()
    }
    Router::new()
        .route("/me", get(offline))
        .route("/me/live", get(live))
        // A host route under /api/v1 merges beside the token routes' catch-all.
        .route("/api/v1/orders", get(offline))
        .with_state::<()>(h.service.clone())
        .merge(h.app.clone())
}

async fn get_with(
    app: &Router,
    path: &str,
    auth: Option<String>,
) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, www, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn extractors_protect_a_host_route() {
    let h = Harness::new();
    let app = host(&h);
    let (access, _) = h.login().await;
    let bearer = Some(format!("Bearer {access}"));

    let (status, _, body) = get_with(&app, "/me", bearer.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let (status, _, body) = get_with(&app, "/api/v1/orders", bearer.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let (status, _, body) = get_with(&app, "/me/live", bearer.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, decode(&access).1["sid"].as_str().unwrap());

    let (status, www, _) = get_with(&app, "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some("Bearer"));
    let (status, www, _) = get_with(&app, "/me", Some("Bearer nope".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some(r#"Bearer error="invalid_token""#));

    // After logout the offline extractor still accepts the token until it expires; the
    // live one refuses it at once.
    h.logout(&access, "")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let (status, _, _) = get_with(&app, "/me", bearer.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, www, _) = get_with(&app, "/me/live", bearer.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some(r#"Bearer error="invalid_token""#));

    // The live extractor needs the store: 503 while it is down.
    let (access, _) = h.login().await;
    h.store.set_down(true);
    let (status, _, _) = get_with(&app, "/me/live", Some(format!("Bearer {access}"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
