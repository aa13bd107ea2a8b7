//! The waiting room page: plain HTML/CSS/JS embedded in the binary (rust-embed), served per schedule at
//! `/q/{show}/{sched}` with a strict Content-Security-Policy (own scripts and styles only; connections to
//! this gateway and to Ably's SSE host only; no third-party script). The page's language is chosen from
//! `Accept-Language` (English or French; texts in `page/messages.json`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::Gateway;
use crate::error::ApiError;

#[derive(Embed)]
#[folder = "page/"]
struct Assets;

/// The languages the page speaks; the first is the default.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// The best language of `Accept-Language` that the page speaks.
pub fn language(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut choices: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.trim().split(';');
            let tag = it.next()?.trim();
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    choices.sort_by(|a, b| b.0.total_cmp(&a.0));
    choices
        .iter()
        .find_map(|(_, tag)| LANGUAGES.iter().find(|l| tag.split('-').next() == Some(**l)))
        .copied()
        .unwrap_or(LANGUAGES[0])
}

fn csp(gw: &Gateway) -> String {
    let ably = gw.ably.as_ref().map(|a| a.streaming_base()).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {ably}; \
         worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

fn secure_headers(r: &mut Response, gw: &Gateway) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp(gw)).expect("an ASCII policy"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// The page of one schedule's waiting room.
pub async fn waiting_room(
    State(gw): State<Arc<Gateway>>,
    Path((show, sched)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    seatwise_engine::ShowId::new(&show)?;
    seatwise_engine::SchedId::new(&sched)?;
    let html = Assets::get("index.html").expect("index.html is embedded");
    let text = String::from_utf8_lossy(&html.data).replace("{{lang}}", language(&headers));
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    secure_headers(&mut r, &gw);
    Ok(r)
}

/// A static file of the page.
pub async fn asset(State(gw): State<Arc<Gateway>>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let Some(f) = Assets::get(&file).filter(|_| file != "index.html") else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file"));
    };
    let mime = match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let mut r = ([(header::CONTENT_TYPE, mime)], f.data.into_owned()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    secure_headers(&mut r, &gw);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(language(&h), "en");
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr-CH, fr;q=0.9, en;q=0.8"));
        assert_eq!(language(&h), "fr");
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("de-DE, en;q=0.5, fr;q=0.7"));
        assert_eq!(language(&h), "fr");
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("es"));
        assert_eq!(language(&h), "en");
    }
}
