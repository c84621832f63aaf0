//! A router over a MemoryStore (that can be made to fail) and a manual clock.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use auth_server::{API_VERSION, AppState, Users, hash_password_with, router};
use auth_tokens::time::{Duration, OffsetDateTime};
use auth_tokens::{
    Config, Error, Family, FamilyId, KeySet, ManualClock, MemoryStore, NewToken, RevokeReason,
    Rotation, SigningKey, TokenId, TokenService, TokenState, TokenStore,
};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

pub const ALICE: (&str, &str) = ("alice", "correct horse");
pub const BOB: (&str, &str) = ("bob", "battery staple");

/// A MemoryStore that answers `Unavailable` while `down` is set.
#[derive(Debug, Default)]
pub struct FlakyStore {
    inner: MemoryStore,
    down: AtomicBool,
}

impl FlakyStore {
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> auth_tokens::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::Unavailable {
                backend: "flaky",
                source: "connection refused".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn insert_family(&self, family: &Family, first: &NewToken) -> auth_tokens::Result<()> {
        self.check()?;
        self.inner.insert_family(family, first).await
    }
    async fn rotate(
        &self,
        subject: &str,
        old: TokenId,
        new: &NewToken,
        now: OffsetDateTime,
    ) -> auth_tokens::Result<Rotation> {
        self.check()?;
        self.inner.rotate(subject, old, new, now).await
    }
    async fn revoke_token(
        &self,
        subject: &str,
        id: TokenId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_tokens::Result<u64> {
        self.check()?;
        self.inner.revoke_token(subject, id, reason, now).await
    }
    async fn revoke_family(
        &self,
        subject: &str,
        family: FamilyId,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_tokens::Result<u64> {
        self.check()?;
        self.inner.revoke_family(subject, family, reason, now).await
    }
    async fn revoke_subject(
        &self,
        subject: &str,
        reason: RevokeReason,
        now: OffsetDateTime,
    ) -> auth_tokens::Result<u64> {
        self.check()?;
        self.inner.revoke_subject(subject, reason, now).await
    }
    async fn token_status(
        &self,
        subject: &str,
        id: TokenId,
    ) -> auth_tokens::Result<Option<TokenState>> {
        self.check()?;
        self.inner.token_status(subject, id).await
    }
    async fn family_status(
        &self,
        subject: &str,
        family: FamilyId,
    ) -> auth_tokens::Result<Option<Family>> {
        self.check()?;
        self.inner.family_status(subject, family).await
    }
    async fn purge_expired(&self, now: OffsetDateTime, batch: u32) -> auth_tokens::Result<u64> {
        self.check()?;
        self.inner.purge_expired(now, batch).await
    }
}

pub fn rsa_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        SigningKey::generate_rsa(auth_tokens::Algorithm::RS512)
            .unwrap()
            .to_pkcs8_pem()
    })
}

pub fn cheap_params() -> argon2::Params {
    argon2::Params::new(64, 1, 1, None).unwrap()
}

pub fn test_users() -> Users {
    Users::new(
        [ALICE, BOB].map(|(name, pw)| {
            (
                name.to_owned(),
                hash_password_with(pw, cheap_params()).unwrap(),
            )
        }),
        4,
    )
    .unwrap()
}

/// The epoch the clock starts at: 2030-01-02T03:04:05Z.
pub const START: i64 = 1_893_553_445;

pub struct Harness {
    pub app: Router,
    pub clock: ManualClock,
    pub store: Arc<FlakyStore>,
    pub service: TokenService,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        let keys = KeySet::new(SigningKey::from_pem(rsa_pem().as_bytes(), None).unwrap());
        Self::with_keys(keys, config)
    }

    pub fn with_keys(keys: KeySet, config: Config) -> Self {
        Self::with_parts(keys, config, test_users())
    }

    pub fn with_users(users: Users) -> Self {
        let keys = KeySet::new(SigningKey::from_pem(rsa_pem().as_bytes(), None).unwrap());
        Self::with_parts(keys, Config::default(), users)
    }

    pub fn with_parts(keys: KeySet, config: Config, users: Users) -> Self {
        let clock = ManualClock::new(OffsetDateTime::from_unix_timestamp(START).unwrap());
        let store = Arc::new(FlakyStore::default());
        let service = TokenService::new(keys, store.clone())
            .with_config(config)
            .with_clock(clock.clone());
        let app = router(AppState::new(service.clone(), users));
        Harness {
            app,
            clock,
            store,
            service,
        }
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// POSTs a form body to an /api/v1 path, with the version header.
    pub async fn post_form(&self, path: &str, body: &str) -> Reply {
        self.send(form(path, body)).await
    }

    pub async fn login_as(&self, (user, pw): (&str, &str), extra: &str) -> Reply {
        let body = format!(
            "grant_type=password&username={}&password={}{extra}",
            enc(user),
            enc(pw)
        );
        self.post_form("/api/v1/token", &body).await
    }

    /// Logs alice in; panics unless 200. Returns (access, refresh).
    pub async fn login(&self) -> (String, String) {
        let r = self.login_as(ALICE, "").await;
        r.assert_status(StatusCode::OK);
        r.pair()
    }

    pub async fn refresh(&self, refresh: &str) -> Reply {
        self.post_form(
            "/api/v1/token",
            &format!("grant_type=refresh_token&refresh_token={}", enc(refresh)),
        )
        .await
    }

    pub async fn logout(&self, access: &str, query: &str) -> Reply {
        let req = Request::delete(format!("/api/v1/token{query}"))
            .header("x-api-version", API_VERSION)
            .header("authorization", format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let r = self
            .post_form("/api/v1/token/introspect", &format!("token={}", enc(token)))
            .await;
        r.assert_status(StatusCode::OK);
        r.json()
    }
}

pub fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("x-api-version", API_VERSION)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }

    /// Asserts an RFC 6749 error body with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        self.assert_status(status);
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        assert!(body["error_description"].is_string(), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn pair(&self) -> (String, String) {
        let body = self.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

/// The decoded (unverified) header and claims of a JWT.
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = B64.decode(parts.next().unwrap()).unwrap();
    let claims = B64.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&header).unwrap(),
        serde_json::from_slice(&claims).unwrap(),
    )
}

/// Re-encodes a token with a changed header, keeping payload and signature.
pub fn with_header(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    let rest = parts.next().unwrap();
    format!("{}.{rest}", B64.encode(serde_json::to_vec(header).unwrap()))
}
