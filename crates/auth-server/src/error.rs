//! The one place where failures become HTTP responses (RFC 6749 section 5.2 JSON).
//!
//! Public descriptions are fixed strings; causes go to `tracing` only, so no response ever
//! carries a store address, a key path or a token.

use std::borrow::Cow;
use std::error::Error as StdError;

use auth_tokens::Error;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::form::BODY_LIMIT;

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: &str = "1";

/// An error answer of the token endpoints and of the [`Authenticated`](crate::Authenticated)
/// extractor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `invalid_request`: a missing, repeated or malformed parameter, a bad
    /// `x-api-version`, a body that is not a form.
    #[error("invalid request: {0}")]
    InvalidRequest(Cow<'static, str>),
    /// 400 `invalid_grant`: bad credentials or an unusable refresh token.
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    /// 400 `unsupported_grant_type`.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// 401 with `WWW-Authenticate: Bearer` and no error code: no bearer token was sent
    /// (RFC 6750 section 3.1).
    #[error("no bearer token")]
    MissingBearer,
    /// 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`.
    #[error("invalid bearer token")]
    InvalidBearer,
    /// 413: the body is larger than 64 KiB.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 404: no such endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// 405: the endpoint exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503 `temporarily_unavailable` with `Retry-After`: the store (or the password
    /// checker) cannot answer now; retrying may succeed.
    #[error("temporarily unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// 500 `server_error`: a bug or a broken store schema.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    /// Maps an auth-core error, turning a refused token into `invalid`.
    pub fn from_core(err: Error, invalid: ApiError) -> ApiError {
        match err {
            Error::InvalidToken(_) => invalid,
            e if e.is_retryable() => ApiError::Unavailable(Box::new(e)),
            e => ApiError::Internal(Box::new(e)),
        }
    }

    /// Maps an auth-core error met while checking a bearer token (401 `invalid_token`).
    pub fn bearer(err: Error) -> ApiError {
        Self::from_core(err, ApiError::InvalidBearer)
    }

    pub(crate) fn invalid_request(text: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::InvalidRequest(text.into())
    }

    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_)
            | ApiError::InvalidGrant(_)
            | ApiError::UnsupportedGrantType => StatusCode::BAD_REQUEST,
            ApiError::MissingBearer | ApiError::InvalidBearer => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code_and_text(&self) -> (&'static str, Cow<'static, str>) {
        match self {
            ApiError::InvalidRequest(text) => ("invalid_request", text.clone()),
            ApiError::InvalidGrant(text) => ("invalid_grant", Cow::Borrowed(*text)),
            ApiError::UnsupportedGrantType => (
                "unsupported_grant_type",
                "grant_type must be password or refresh_token".into(),
            ),
            ApiError::MissingBearer => ("invalid_request", "".into()),
            ApiError::InvalidBearer => (
                "invalid_token",
                "the access token is invalid, expired or revoked".into(),
            ),
            ApiError::PayloadTooLarge => (
                "invalid_request",
                format!("the request body is larger than {BODY_LIMIT} bytes").into(),
            ),
            ApiError::NotFound => ("invalid_request", "no such endpoint".into()),
            ApiError::MethodNotAllowed => (
                "invalid_request",
                "method not allowed on this endpoint".into(),
            ),
            ApiError::Unavailable(_) => (
                "temporarily_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
            ApiError::Internal(_) => ("server_error", "internal error".into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %chain(cause.as_ref()), "answering 503")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "answering 500")
            }
            _ => {}
        }
        let status = self.status();
        if let ApiError::MissingBearer = self {
            // RFC 6750 section 3.1: no credentials, no error code.
            let mut res = status.into_response();
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
        let (code, text) = self.code_and_text();
        let body = json!({ "error": code, "error_description": text });
        let mut res = (status, axum::Json(body)).into_response();
        let headers = res.headers_mut();
        match self {
            ApiError::InvalidBearer => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            ApiError::Unavailable(_) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            }
            _ => {}
        }
        res
    }
}

impl From<Error> for ApiError {
    /// A refused token becomes `invalid_grant` (the token endpoint's answer).
    fn from(err: Error) -> Self {
        Self::from_core(
            err,
            ApiError::InvalidGrant("the refresh token is invalid, expired or revoked"),
        )
    }
}

/// `outer: inner: innermost`, for logs.
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}
