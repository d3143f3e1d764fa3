//! `/caproxy/<CA URL>/<path>` (routes/proxy_apis.js, libs/proxy_lib.js `ca_proxy_call`):
//! forwards to a CA this console knows (the URL safe list), with the caller's
//! `Authorization` for the CA (a fabric-ca token or Basic enroll credentials).
//!
//! A real console serves it to a logged-in browser session only (401
//! `{"error":"login to use this api"}` otherwise). The mock has no sessions, so it asks for
//! the API's own credentials, in `X-Console-Authorization` since `Authorization` is the
//! CA's (or in `Authorization` when the CA needs none), and answers their absence as
//! athena answers a missing session.

use super::request::RawBody;
use super::status::STATUS_TIMEOUT_MS;
use super::{error_message, Console};
use crate::console::validate::host_port;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Where the mock reads a console credential on `/caproxy` when `Authorization` is the
/// CA's.
pub const CONSOLE_AUTHORIZATION: HeaderName = HeaderName::from_static("x-console-authorization");

/// athena's `http_timeout` (120 s) bounds a proxied call.
const PROXY_TIMEOUT: Duration = Duration::from_millis(STATUS_TIMEOUT_MS * 40);

pub(super) async fn ca_proxy(
    State(console): Console,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let mut credentials = HeaderMap::new();
    if let Some(value) = headers
        .get(&CONSOLE_AUTHORIZATION)
        .or_else(|| headers.get(header::AUTHORIZATION))
    {
        credentials.insert(header::AUTHORIZATION, value.clone());
    }
    if let Err(denied) = console.authorize_session(&credentials, &method, uri.path()) {
        return *denied;
    }
    // ot_misc.js parseProxyUrl: the whole URL, query included, decoded once.
    let raw = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("")
        .strip_prefix("/caproxy/")
        .unwrap_or("");
    let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
        return super::request::express_error(StatusCode::BAD_REQUEST, "Bad Request");
    };
    let (scheme, rest) = decoded.split_once("://").unwrap_or(("http", &decoded));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let base = format!("{scheme}://{authority}");
    if !host_port(&base).is_some_and(|hp| console.known_hosts().contains(&hp)) {
        return (
            StatusCode::BAD_REQUEST,
            "unsafe url. will not send ca request",
        )
            .into_response();
    }
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    // The CA's own credential travels on; the console's stays here.
    let forwarded_auth = headers
        .contains_key(&CONSOLE_AUTHORIZATION)
        .then(|| headers.get(header::AUTHORIZATION))
        .flatten();
    if let Some(value) = forwarded_auth {
        request = request.header(header::AUTHORIZATION, value);
    }
    if let Some(value) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, value);
    }
    let Ok(request) = request.body(body) else {
        return (
            StatusCode::BAD_REQUEST,
            "unsafe url. will not send ca request",
        )
            .into_response();
    };
    match console.http.send(request, PROXY_TIMEOUT).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let mut answer = (parts.status, body).into_response();
            if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
                answer
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type.clone());
            }
            answer
        }
        Err(crate::net::http::HttpError::Timeout { .. }) => error_message(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout waiting for the CA",
            None,
        ),
        Err(e) => error_message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
    }
}
