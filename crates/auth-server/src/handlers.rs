//! The endpoints of the HTTP contract.

use auth_tokens::{Error, FamilyId, Introspection, RefreshKind, RevokeReason, TokenPair};
use axum::Json;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::form::FormBody;
use crate::state::AppState;

const BAD_CREDENTIALS: &str = "invalid username or password";

/// `POST /api/v1/token`: the password and refresh_token grants.
pub(crate) async fn token(
    State(state): State<AppState>,
    form: FormBody,
) -> Result<Json<TokenBody>, ApiError> {
    let grant_type = form.require("grant_type")?;
    let pair = match grant_type {
        "password" => password_grant(&state, &form).await?,
        "refresh_token" => {
            let token = form.require("refresh_token")?;
            state.service().refresh(token).await?
        }
        _ => return Err(ApiError::UnsupportedGrantType),
    };
    TokenBody::new(&pair).map(Json)
}

async fn password_grant(state: &AppState, form: &FormBody) -> Result<TokenPair, ApiError> {
    let username = form.require("username")?;
    let password = form.require("password")?;
    let kind = match form.get("use_short_term_refresh") {
        None | Some("false") => RefreshKind::LongTerm,
        Some("true") => RefreshKind::ShortTerm,
        Some(_) => {
            return Err(ApiError::invalid_request(
                "use_short_term_refresh must be true or false",
            ));
        }
    };
    let ok = state
        .users()
        .verify(username, password)
        .await
        .map_err(|e| match e {
            crate::users::UsersError::Busy => ApiError::Unavailable(Box::new(e)),
            e => ApiError::Internal(Box::new(e)),
        })?;
    if !ok {
        return Err(ApiError::InvalidGrant(BAD_CREDENTIALS));
    }
    Ok(state.service().login(username, kind).await?)
}

/// The 200 body of the token endpoint. No `Debug`: it holds both tokens.
#[derive(Serialize)]
pub(crate) struct TokenBody {
    access_token: String,
    token_type: &'static str,
    refresh_token: String,
    expires_in: i64,
    #[serde(rename = ".issued")]
    issued: String,
    #[serde(rename = ".expires")]
    expires: String,
}

impl TokenBody {
    fn new(pair: &TokenPair) -> Result<Self, ApiError> {
        let expires_in = pair.expires_in();
        let issued = pair.access.iat;
        Ok(TokenBody {
            access_token: pair.access_token.clone(),
            token_type: "bearer",
            refresh_token: pair.refresh_token.clone(),
            expires_in,
            issued: timestamp(issued)?,
            expires: timestamp(issued.saturating_add(expires_in))?,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC.
fn timestamp(unix: i64) -> Result<String, ApiError> {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .format(format)
        .map_err(|e| ApiError::Internal(Box::new(e)))
}

/// `DELETE /api/v1/token[?scope=global]`: logout of the bearer token's session, or of every
/// session of its user.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let token = bearer_token(&headers)?;
    // Offline verification on purpose: logging out an already revoked session is a 204.
    let claims = state
        .service()
        .verify_access(token)
        .map_err(ApiError::bearer)?;
    let query = FormBody::parse(uri.query().unwrap_or_default().as_bytes())?;
    let everywhere = match query.get("scope") {
        None => false,
        Some("global") => true,
        Some(_) => return Err(ApiError::invalid_request("scope must be global or absent")),
    };
    state
        .service()
        .logout(&claims, everywhere)
        .await
        .map_err(ApiError::bearer)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/token/revoke` (RFC 7009).
pub(crate) async fn revoke(
    State(state): State<AppState>,
    form: FormBody,
) -> Result<StatusCode, ApiError> {
    let token = form.require("token")?;
    // token_type_hint is only a hint (RFC 7009 section 2.1): both kinds are tried.
    match state.service().revoke(token).await {
        Ok(_) => return Ok(StatusCode::OK),
        Err(Error::InvalidToken(_)) => {}
        Err(e) => return Err(e.into()),
    }
    // An access token revokes its session, as logout would; anything else is ignored
    // (RFC 7009 section 2.2).
    if let Ok(claims) = state.service().verify_access(token) {
        state
            .service()
            .revoke_family(&claims.unique_name, claims.sid, RevokeReason::Revoked)
            .await?;
    }
    Ok(StatusCode::OK)
}

/// `POST /api/v1/token/introspect` (RFC 7662).
pub(crate) async fn introspect(
    State(state): State<AppState>,
    form: FormBody,
) -> Result<Json<Value>, ApiError> {
    let token = form.require("token")?;
    let body = match state.service().introspect(token).await? {
        Introspection::Inactive => json!({ "active": false }),
        Introspection::Refresh(c) => json!({
            "active": true,
            "unique_name": c.unique_name,
            "aud": c.aud,
            "exp": c.exp,
            "iat": c.iat,
            "token_id": c.token_id,
        }),
        Introspection::Access(c) => json!({
            "active": true,
            "unique_name": c.unique_name,
            "aud": c.aud,
            "exp": c.exp,
            "iat": c.iat,
            "sid": c.sid,
        }),
    };
    Ok(Json(body))
}

/// `GET /.well-known/jwks.json`.
pub(crate) async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.service().jwks().clone())
}

/// `GET /healthz`: 200 when the store answers a read, 503 otherwise.
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    // A read of a family that cannot exist: cheap on every backend, and it goes all the
    // way to the store.
    let probe = state
        .service()
        .store()
        .family_status("authd-healthz", FamilyId::random())
        .await;
    match probe {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, "1")],
                Json(json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
