//! Bearer-token extractors for a host application's own routes.

use auth_tokens::{AccessClaims, TokenService};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The claims of a valid access token from `Authorization: Bearer`, verified offline
/// (signature, key, audience, `exp`/`nbf`): no store round trip, so a logout takes effect
/// only when the token expires. Use [`LiveAuthenticated`] where it must bite at once.
///
/// Rejects with 401: `WWW-Authenticate: Bearer` when no bearer token was sent,
/// `Bearer error="invalid_token"` when it does not verify. Works with any state from which
/// a [`TokenService`] can be taken (`impl FromRef<YourState> for TokenService`).
///
/// ```no_run
/// use auth_server::Authenticated;
///
/// async fn me(Authenticated(claims): Authenticated) -> String {
///     format!("hello {}", claims.unique_name)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub AccessClaims);

/// Like [`Authenticated`], and also checks that the token's session (`sid`) is neither
/// revoked nor logged out: one store read per request. Answers 503 when the store cannot.
#[derive(Debug, Clone)]
pub struct LiveAuthenticated(pub AccessClaims);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    TokenService: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        TokenService::from_ref(state)
            .verify_access(token)
            .map(Authenticated)
            .map_err(ApiError::bearer)
    }
}

impl<S> FromRequestParts<S> for LiveAuthenticated
where
    S: Send + Sync,
    TokenService: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        TokenService::from_ref(state)
            .verify_access_live(token)
            .await
            .map(LiveAuthenticated)
            .map_err(ApiError::bearer)
    }
}

/// The token of `Authorization: Bearer TOKEN` (scheme case-insensitive, RFC 7235).
///
/// # Errors
/// [`ApiError::MissingBearer`] when there is no `Authorization` header or it names another
/// scheme; [`ApiError::InvalidBearer`] when the bearer credentials are empty or not ASCII.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(ApiError::MissingBearer);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidBearer)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::InvalidBearer);
    }
    Ok(token)
}
