//! `application/x-www-form-urlencoded` bodies read the way RFC 6749 section 3.2 wants:
//! strict UTF-8, an empty value counts as absent, a repeated name is an error, unknown names
//! are ignored, and the query string is never consulted.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use percent_encoding::percent_decode;

use crate::error::ApiError;

/// The largest request body accepted, in bytes (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The decoded fields of a form body, each name at most once.
#[derive(Default)]
pub(crate) struct FormBody {
    fields: BTreeMap<String, String>,
}

impl std::fmt::Debug for FormBody {
    /// Names only: values are passwords and tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.fields.keys()).finish()
    }
}

impl FormBody {
    /// The value of `name`; an empty value counts as absent (RFC 6749 section 3.2).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub(crate) fn require(&self, name: &'static str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid_request(format!("missing parameter {name}")))
    }

    /// Parses `input` (a body or a query string).
    ///
    /// # Errors
    /// `invalid_request` for a repeated name or a value that is not UTF-8 once decoded.
    pub(crate) fn parse(input: &[u8]) -> Result<Self, ApiError> {
        let mut fields = BTreeMap::new();
        for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if fields.contains_key(&name) {
                return Err(ApiError::invalid_request(format!(
                    "parameter {} is repeated",
                    printable(&name)
                )));
            }
            fields.insert(name, value);
        }
        Ok(FormBody { fields })
    }
}

/// `+` is a space, then percent-decoding; invalid UTF-8 is refused, never replaced.
fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::invalid_request("form data is not valid UTF-8"))
}

/// A parameter name fit for an error message (names are echoed, values never).
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_form(&req) {
            return Err(ApiError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req.into_body()).await?;
        Self::parse(&bytes)
    }
}

fn is_form(req: &Request) -> bool {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return false;
    }
    // A declared charset other than UTF-8 would make our decoding wrong.
    parts.all(|param| match param.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

/// Reads at most [`BODY_LIMIT`] bytes; more is 413 whether or not `Content-Length` said so.
pub(crate) async fn read_body(body: Body) -> Result<Vec<u8>, ApiError> {
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::PayloadTooLarge),
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
            Err(ApiError::invalid_request(
                "the request body could not be read",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let f = FormBody::parse(b"a=x+y%2Bz&b=%C3%A9").unwrap();
        assert_eq!(f.get("a"), Some("x y+z"));
        assert_eq!(f.get("b"), Some("\u{e9}"));
    }

    #[test]
    fn empty_is_absent_and_bare_names_are_empty() {
        let f = FormBody::parse(b"a=&b&&c=1").unwrap();
        assert_eq!(f.get("a"), None);
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some("1"));
    }

    #[test]
    fn repeats_and_bad_utf8_are_refused() {
        assert!(FormBody::parse(b"a=1&a=2").is_err());
        assert!(FormBody::parse(b"a=1&a=").is_err());
        assert!(FormBody::parse(b"a=%FF").is_err());
        assert!(FormBody::parse(b"a=\xff").is_err());
        assert!(FormBody::parse(b"%C3=1").is_err());
    }
}
