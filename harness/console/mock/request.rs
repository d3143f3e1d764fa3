//! What every request goes through before and around its route (athena's app.js):
//! the body parser, response headers, CORS, %-escapes in the path, and the answer to an
//! unknown route.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::convert::Infallible;

/// app.js `maxSize = '25mb'`, which the `bytes` library reads as 25 × 1024 × 1024.
const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The request body as athena's handlers see it: the parsed JSON for
/// `Content-Type: application/json`, else `{}` (body-parser leaves `req.body` empty).
#[derive(Clone, Debug)]
pub(super) struct Input(pub Value);

/// The raw bytes, for the CA proxy (which forwards what it received).
#[derive(Clone, Debug)]
pub(super) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequestParts<S> for Input {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Input, Infallible> {
        Ok(parts
            .extensions
            .get::<Input>()
            .cloned()
            .unwrap_or_else(|| Input(Value::Object(Default::default()))))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RawBody {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<RawBody, Infallible> {
        Ok(parts
            .extensions
            .get::<RawBody>()
            .cloned()
            .unwrap_or_else(|| RawBody(Bytes::new())))
    }
}

/// app.js 489-499: every parser error is a 400, `invalid json` when the message says
/// "Unexpected token", else `input error`; `details` is the error's `name: message`.
fn parser_error(msg: &str, details: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"statusCode": 400, "msg": msg, "details": details})),
    )
        .into_response()
}

fn too_large() -> Response {
    parser_error(
        "input error",
        "PayloadTooLargeError: request entity too large",
    )
}

fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// body-parser's `json()` in strict mode, with Node 20's messages where they can be
/// rebuilt; others name serde's reading of the same fault.
fn parse_json(bytes: &[u8]) -> Result<Value, super::Refusal> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let first = trimmed.chars().next().unwrap_or(' ');
    if first != '{' && first != '[' {
        // Strict mode: only objects and arrays, "invalid json" as body-parser words it.
        return Err(Box::new(parser_error(
            "invalid json",
            &format!(
                "SyntaxError: Unexpected token '{first}', \"{}\" is not valid JSON",
                excerpt(trimmed)
            ),
        )));
    }
    serde_json::from_str(&text).map_err(|e| {
        Box::new(if e.is_eof() {
            parser_error("input error", "SyntaxError: Unexpected end of JSON input")
        } else if e.to_string().starts_with("key must be a string") {
            parser_error(
                "input error",
                &format!(
                    "SyntaxError: Expected property name or '}}' in JSON at line {} column {}",
                    e.line(),
                    e.column()
                ),
            )
        } else {
            parser_error("invalid json", &format!("SyntaxError: {e}"))
        })
    })
}

/// The start of a bad body, as Node quotes it in its message.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(30).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}

/// Reads the body (at most 25 MB, else athena's 400) and parses JSON bodies; a bad body
/// is answered here, before the rate limiter and the lockout, as athena's parser errors are.
pub(super) async fn read_body(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        // Answered without reading a byte of it: hyper then closes the connection.
        return too_large();
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            return if over {
                too_large()
            } else {
                parser_error("input error", "BadRequestError: request aborted")
            };
        }
    };
    let input = if is_json(&parts) {
        match parse_json(&bytes) {
            Ok(value) => value,
            Err(answer) => return *answer,
        }
    } else {
        Value::Object(Default::default())
    };
    parts.extensions.insert(Input(input));
    parts.extensions.insert(RawBody(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// app.js setHeaders: on every answer, and no caching of API answers.
pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let api = is_api_path(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("strict-transport-security", "max-age=31536000"),
        ("x-content-type-options", "nosniff"),
        ("x-xss-protection", "1; mode=block"),
        ("x-frame-options", "deny"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if api {
        for (name, value) in [
            ("cache-control", "no-store"),
            ("pragma", "no-cache"),
            (
                "content-security-policy",
                "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
            ),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// `cors()` on `/ak/` with its defaults: any origin, and preflights answered 204.
pub(super) async fn cors(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/ak/") {
        return next.run(request).await;
    }
    let allow_origin = (
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if request.method() == Method::OPTIONS {
        let mut response = (
            StatusCode::NO_CONTENT,
            [
                allow_origin,
                (
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
                ),
                (
                    header::VARY,
                    HeaderValue::from_static("Access-Control-Request-Headers"),
                ),
            ],
        )
            .into_response();
        if let Some(asked) = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        return response;
    }
    let mut response = next.run(request).await;
    let (name, value) = allow_origin;
    response.headers_mut().insert(name, value);
    response
}

/// `/ak/api/...` or `/api/...`, matched as Express does (any case).
fn is_api_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    ["/ak/api", "/api"]
        .iter()
        .any(|p| lower == *p || lower.starts_with(&format!("{p}/")))
}

/// A malformed %-escape makes Express's `decodeURIComponent` of a route parameter throw
/// (400 from finalhandler, in production mode, as HTML); athena never sees the request.
pub(super) async fn check_escapes(request: Request, next: Next) -> Response {
    if decodes(request.uri().path()) {
        next.run(request).await
    } else {
        express_error(StatusCode::BAD_REQUEST, "Bad Request")
    }
}

/// `decodeURIComponent` succeeds: every `%` starts two hex digits and the bytes are UTF-8.
fn decodes(path: &str) -> bool {
    let bytes = path.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    well_formed
        && percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .is_ok()
}

/// finalhandler's error page.
pub(super) fn express_error(status: StatusCode, text: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>{text}</pre>\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// athena's answer to an unknown API route, whatever the method.
pub(super) fn unknown_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"statusCode": 404, "msg": "route not found"})),
    )
        .into_response()
}

/// app.js 563-583: JSON for the API paths, text elsewhere (the mock has no web UI).
pub(super) async fn route_not_found(request: Request) -> Response {
    if is_api_path(request.uri().path()) {
        unknown_route()
    } else {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "404 Route Not Found :(",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_must_decode_as_decode_uri_component_does() {
        assert!(decodes("/ak/api/v3/components/org1ca"));
        assert!(decodes("/caproxy/http%3A%2F%2Fca%3A7054/cainfo"));
        assert!(decodes("/x/%C3%A9"));
        assert!(!decodes("/ak/api/v3/components/%E0%A4%A"));
        assert!(!decodes("/x/%zz"));
        assert!(!decodes("/x/%"));
        assert!(!decodes("/x/%FF"));
    }

    #[test]
    fn api_paths_match_in_any_case() {
        assert!(is_api_path("/ak/api/v3/x"));
        assert!(is_api_path("/AK/API/V3/healthcheck"));
        assert!(is_api_path("/api"));
        assert!(!is_api_path("/apis/x"));
        assert!(!is_api_path("/caproxy/x"));
    }
}
