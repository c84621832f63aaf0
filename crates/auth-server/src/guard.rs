//! What every `/api/v1` request goes through before its handler: the version header first,
//! then the declared body size; and what every answer gets: no caching.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, PRAGMA};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::form::BODY_LIMIT;

/// The `x-api-version` every `/api/v1` request must carry.
pub const API_VERSION: &str = "1.0-rev0";

/// Checks `x-api-version` before anything else, refuses a declared body over the limit,
/// and marks the answer (error or not) `no-store`.
pub(crate) async fn api_guard(req: Request, next: Next) -> Response {
    let mut res = match check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let headers = res.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn check(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut versions = headers.get_all("x-api-version").iter();
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.as_bytes() == API_VERSION.as_bytes() => {}
        (None, _) => {
            return Err(ApiError::invalid_request(format!(
                "missing x-api-version header (expected {API_VERSION})"
            )));
        }
        _ => {
            return Err(ApiError::invalid_request(format!(
                "unsupported x-api-version (expected {API_VERSION})"
            )));
        }
    }
    // A declared oversize body is refused before it is read; an undeclared one is cut off
    // by the form reader at the same limit.
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(())
}
