//! One log line per request: method, path, status, latency. Never the query string, a
//! header or a body, so no token, password or key reaches the log.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// The type of [`trace_layer`].
pub type RequestTrace = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request<Body>) -> Span,
    (),
    fn(&Response<Body>, Duration, &Span),
    (),
    (),
    (),
>;

/// The request-logging layer `authd` wraps around [`router`](crate::router).
pub fn trace_layer() -> RequestTrace {
    TraceLayer::new_for_http()
        .make_span_with(make_span as fn(&Request<Body>) -> Span)
        .on_request(())
        .on_response(on_response as fn(&Response<Body>, Duration, &Span))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

fn make_span(req: &Request<Body>) -> Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}

fn on_response(res: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = res.status().as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "done"
    );
}
