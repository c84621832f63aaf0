//! Request validation: the version header, form decoding (RFC 6749 section 3.2), body
//! limits, grant types, and the no-store headers on every answer.

use auth_server::API_VERSION;
use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::*;

const PW: &str = "grant_type=password&username=alice&password=correct+horse";

#[tokio::test]
async fn missing_or_unknown_api_version_is_invalid_request() {
    let h = Harness::new();
    for version in [None, Some("1.0"), Some("1.0-rev1"), Some("")] {
        let mut req = Request::post("/api/v1/token")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(v) = version {
            req = req.header("x-api-version", v);
        }
        let r = h.send(req.body(Body::from(PW)).unwrap()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    // Twice, even with the right value, is not one version.
    let req = Request::post("/api/v1/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-api-version", API_VERSION)
        .header("x-api-version", API_VERSION)
        .body(Body::from(PW))
        .unwrap();
    h.send(req)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn the_version_is_checked_before_anything_else() {
    let h = Harness::new();
    let no_version = |method: &str, path: &str, body: Body| {
        Request::builder()
            .method(method)
            .uri(path)
            .body(body)
            .unwrap()
    };
    // Before the body limit, the method, the bearer token and the route.
    let huge = Request::post("/api/v1/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "70000")
        .body(Body::from(vec![b'a'; 70_000]))
        .unwrap();
    for req in [
        huge,
        no_version("GET", "/api/v1/token", Body::empty()),
        no_version("DELETE", "/api/v1/token", Body::empty()),
        no_version("POST", "/api/v1/token/revoke", Body::from("x")),
        no_version("POST", "/api/v1/nowhere", Body::empty()),
    ] {
        h.send(req)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Outside /api/v1 no version is needed.
    let r = h.send(no_version("GET", "/healthz", Body::empty())).await;
    r.assert_status(StatusCode::OK);
    let r = h
        .send(no_version("GET", "/.well-known/jwks.json", Body::empty()))
        .await;
    r.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn grant_type_and_required_fields() {
    let h = Harness::new();
    let cases = [
        ("", "invalid_request"),
        ("username=alice&password=x", "invalid_request"),
        ("grant_type=", "invalid_request"),
        ("grant_type=password&password=x", "invalid_request"),
        ("grant_type=password&username=alice", "invalid_request"),
        (
            "grant_type=password&username=&password=x",
            "invalid_request",
        ),
        ("grant_type=refresh_token", "invalid_request"),
        ("grant_type=refresh_token&refresh_token=", "invalid_request"),
        ("grant_type=client_credentials", "unsupported_grant_type"),
        (
            "grant_type=PASSWORD&username=alice&password=x",
            "unsupported_grant_type",
        ),
    ];
    for (body, code) in cases {
        let r = h.post_form("/api/v1/token", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["error"], code, "{body}");
    }
}

#[tokio::test]
async fn use_short_term_refresh_must_be_lowercase_true_or_false() {
    let h = Harness::new();
    for value in ["True", "FALSE", "1", "yes", "true "] {
        let r = h
            .post_form(
                "/api/v1/token",
                &format!("{PW}&use_short_term_refresh={}", enc(value)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{value}");
        assert_eq!(r.json()["error"], "invalid_request", "{value}");
    }
    // Empty counts as absent: a long-term token.
    let r = h
        .post_form("/api/v1/token", &format!("{PW}&use_short_term_refresh="))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(decode(&r.pair().1).1["short_term_expiration"], "False");
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let h = Harness::new();
    for body in [
        format!("{PW}&grant_type=password"),
        format!("{PW}&username=alice"),
        format!("{PW}&password=correct+horse"),
        format!("{PW}&use_short_term_refresh=true&use_short_term_refresh=true"),
        format!("{PW}&extra=1&extra=2"),
    ] {
        let r = h.post_form("/api/v1/token", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["error"], "invalid_request", "{body}");
    }
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let h = Harness::new();
    h.post_form(
        "/api/v1/token",
        &format!("{PW}&scope=everything&client_id=x&"),
    )
    .await
    .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn form_fields_come_from_the_body_never_the_query() {
    let h = Harness::new();
    let r = h.post_form(&format!("/api/v1/token?{PW}"), "").await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Half in the query: the body's half alone is incomplete.
    let r = h
        .post_form(
            "/api/v1/token?password=correct+horse",
            "grant_type=password&username=alice",
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Same for revoke and introspect.
    let (_, refresh) = h.login().await;
    let q = format!("token={}", enc(&refresh));
    h.post_form(&format!("/api/v1/token/revoke?{q}"), "")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    h.post_form(&format!("/api/v1/token/introspect?{q}"), "")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    h.refresh(&refresh).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn non_utf8_form_input_is_refused_not_replaced() {
    let h = Harness::new();
    // A user whose name would match after U+FFFD replacement does not exist, but the
    // point is the answer: invalid_request, not invalid_grant.
    for body in [
        "grant_type=password&username=alice%FF&password=correct+horse"
            .as_bytes()
            .to_vec(),
        b"grant_type=password&username=alice\xff&password=correct+horse".to_vec(),
        b"grant_type=password&username=alice&password=correct+horse&x%C3=1".to_vec(),
    ] {
        let req = Request::post("/api/v1/token")
            .header("x-api-version", API_VERSION)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        h.send(req)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Percent-encoded UTF-8 is fine.
    let r = h
        .post_form(
            "/api/v1/token",
            "grant_type=password&username=alice&password=correct%20horse",
        )
        .await;
    r.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_invalid_request() {
    let h = Harness::new();
    for ct in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencoded; charset=iso-8859-1"),
    ] {
        let mut req = Request::post("/api/v1/token").header("x-api-version", API_VERSION);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = h.send(req.body(Body::from(PW)).unwrap()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{ct:?}");
        assert_eq!(r.json()["error"], "invalid_request", "{ct:?}");
    }
    // Parameters and case in the media type are fine.
    let req = Request::post("/api/v1/token")
        .header("x-api-version", API_VERSION)
        .header(
            "content-type",
            "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
        )
        .body(Body::from(PW))
        .unwrap();
    h.send(req).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let h = Harness::new();
    let padding = format!("{PW}&pad={}", "a".repeat(64 * 1024));
    // Declared in Content-Length.
    let req = Request::post("/api/v1/token")
        .header("x-api-version", API_VERSION)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", padding.len().to_string())
        .body(Body::from(padding.clone()))
        .unwrap();
    let r = h.send(req).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // Streamed without a length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = padding
        .as_bytes()
        .chunks(4096)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let req = Request::post("/api/v1/token")
        .header("x-api-version", API_VERSION)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    h.send(req)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    // Exactly 64 KiB is accepted.
    let exact = format!("{PW}&pad=");
    let exact = format!("{exact}{}", "a".repeat(64 * 1024 - exact.len()));
    assert_eq!(exact.len(), 64 * 1024);
    h.post_form("/api/v1/token", &exact)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn every_token_endpoint_answer_is_no_store() {
    let h = Harness::new();
    let (access, refresh) = h.login().await;
    let replies = vec![
        h.login_as(ALICE, "").await,
        h.login_as(("alice", "bad"), "").await,
        h.refresh(&refresh).await,
        h.post_form("/api/v1/token", "grant_type=nope").await,
        h.post_form(
            "/api/v1/token/introspect",
            &format!("token={}", enc(&access)),
        )
        .await,
        h.post_form("/api/v1/token/revoke", "token=x").await,
        h.post_form("/api/v1/token/revoke", "").await,
        h.logout(&access, "").await,
        h.logout("bad", "").await,
    ];
    for r in replies {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
        assert_eq!(r.header("pragma"), Some("no-cache"), "{r:?}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = Harness::new();
    let req = Request::get("/api/v1/token")
        .header("x-api-version", API_VERSION)
        .body(Body::empty())
        .unwrap();
    h.send(req)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    let req = Request::post("/api/v1/tokens")
        .header("x-api-version", API_VERSION)
        .body(Body::empty())
        .unwrap();
    h.send(req)
        .await
        .assert_error(StatusCode::NOT_FOUND, "invalid_request");
}

#[tokio::test]
async fn paths_outside_the_api_need_no_version_header() {
    let h = Harness::new();
    for path in ["/favicon.ico", "/api/v2/token", "/"] {
        let r = h
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Unknown paths under /api/v1 still get the version check first.
    let r = h
        .send(Request::get("/api/v1/nope").body(Body::empty()).unwrap())
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}
