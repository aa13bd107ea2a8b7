//! The router's layers of our own: request metrics and logs, the header size bound, `{code, message}` for
//! every error, and same-site writes.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The method as a metrics label: the methods the API serves, anything else `other` (a label's values
/// must not be the client's to choose).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Request count and latency by route and status, and one log line per request (route template only: no
/// ticket, buyer id or query string is logged).
pub(crate) async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = res.status().as_u16().to_string();
    metrics::counter!("seatwise_gateway_requests_total", "route" => route.clone(), "method" => method, "status" => status.clone()).increment(1);
    metrics::histogram!("seatwise_gateway_request_seconds", "route" => route.clone(), "method" => method).record(secs);
    tracing::debug!(method, route, status, ms = secs * 1000.0, "request");
    res
}

/// Refuses requests whose headers are larger than the configured bound (431).
pub(crate) async fn header_limit(max: usize, req: Request, next: Next) -> Response {
    let size: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if size > max {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("request headers are {size} bytes; at most {max} are accepted"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Every error answer is `{code, message}`: the few that layers answer with an empty body (405 from the
/// router, 408 from the timeout, 413 from the body limit) get one here.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.headers().contains_key(header::CONTENT_TYPE) {
        return res;
    }
    let err = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            format!("this route does not take {}; see /v1/openapi.json", method_label(&method)),
        ),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            "timeout",
            "the request took too long (its body arrived too slowly, or the service is busy); try again",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "too_large", "the request body is too large"),
        _ => ApiError::new(status, "error", status.canonical_reason().unwrap_or("error").to_string()),
    };
    let mut out = err.into_response();
    for (k, v) in res.headers() {
        if k == header::ALLOW || k.as_str().starts_with("access-control-") || k == header::VARY {
            out.headers_mut().append(k, v.clone());
        }
    }
    out
}

/// Calls that change something (POST, DELETE) come only from the gateway's own pages, an allowed origin,
/// or a server: a body is JSON (so no HTML form can send it), and a browser's `Origin` or
/// `Sec-Fetch-Site` must not name a foreign site (a cross-site form could otherwise join, or replace a
/// waiting buyer's identity cookie).
pub(crate) async fn same_site_only(origins: Arc<Vec<String>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if let Err(e) = check_same_site(req.headers(), &origins) {
        return e.into_response();
    }
    next.run(req).await
}

/// The checks of [`same_site_only`], on the headers alone.
pub fn check_same_site(h: &axum::http::HeaderMap, origins: &[String]) -> Result<(), ApiError> {
    let has_body = h.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || h.contains_key(header::TRANSFER_ENCODING);
    match h.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")) {
        Some(ct) if !is_json(ct) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a request body is JSON: send Content-Type: application/json",
            ));
        }
        None if has_body => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a request body is JSON: send Content-Type: application/json",
            ));
        }
        _ => {}
    }
    let cross = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this call must come from the waiting page's own site or an origin the gateway allows (--cors-origin)",
        )
    };
    let origin = h.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null"));
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
    let allowed = origin.is_some_and(|o| origins.iter().any(|a| a.eq_ignore_ascii_case(o)));
    // The browser says the call comes from the gateway's own pages: by Sec-Fetch-Site (which a page
    // cannot set), or by an Origin naming the Host (a proxy that rewrites Host leaves the first).
    let own = site == "same-origin" || origin.is_some_and(|o| same_origin(o, h));
    if allowed || own {
        return Ok(());
    }
    // A browser's call from elsewhere; a server (no Origin, no fetch metadata) passes.
    if origin.is_some() || matches!(site, "cross-site" | "same-site") {
        return Err(cross());
    }
    Ok(())
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
}

/// `Origin` names the host the request was sent to (the gateway's own page).
fn same_origin(origin: &str, h: &axum::http::HeaderMap) -> bool {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let o = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    !host.is_empty() && o.is_some_and(|o| o.eq_ignore_ascii_case(host))
}
