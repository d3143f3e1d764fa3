//! HTTP/1.1 over any byte stream.
//!
//! Serving: an axum `Router` is served on whatever `Accept` hands out, tokio's
//! `TcpListener` for real sockets or turmoil's for the simulated network (turmoil's
//! `TcpStream` implements tokio's `AsyncRead`/`AsyncWrite`; the pattern is turmoil's
//! examples/axum, tokio-rs/turmoil). Every node shell (CA, console, peer and orderer
//! operations and grpc-web endpoints) uses `serve`.
//!
//! Speaking: `HttpClient` sends one request per fresh connection opened by a [`Net`], so
//! the same client code runs over turmoil's TCP (`SimNet`) and real TCP (`RealNet`).
//! Timeouts use `tokio::time`, which is the simulated clock inside turmoil.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

use super::{Accept, Io, Net};

/// Serves HTTP/1.1 requests on one connection with `router` until the peer closes it.
pub async fn serve_connection(stream: impl Io, router: axum::Router) {
    let service = hyper_util::service::TowerToHyperService::new(router);
    // A connection that breaks mid-request is the client's problem, not the server's.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Accepts connections and serves each in its own task until `shutdown` completes.
///
/// From turmoil: `serve(turmoil::net::TcpListener::bind(addr).await?, router, pending())`
/// inside `sim.host(...)`; on real sockets the same with `tokio::net::TcpListener`.
pub async fn serve(
    mut listener: impl Accept,
    router: axum::Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                tokio::spawn(serve_connection(stream, router.clone()));
            }
        }
    }
}

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("invalid URL {0}")]
    BadUrl(String),
    #[error("cannot connect to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("no answer from {address} within {timeout_ms} ms")]
    Timeout { address: String, timeout_ms: u128 },
    #[error("HTTP exchange with {address} failed: {message}")]
    Protocol { address: String, message: String },
}

impl HttpError {
    /// Transport failures a client may retry (the request may not have arrived).
    pub fn is_transient(&self) -> bool {
        !matches!(self, HttpError::BadUrl(_))
    }
}

/// An HTTP/1.1 client over a [`Net`]: one fresh connection per request.
#[derive(Clone)]
pub struct HttpClient {
    net: Arc<dyn Net>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

impl HttpClient {
    pub fn new(net: impl Net) -> HttpClient {
        HttpClient { net: Arc::new(net) }
    }

    /// Sends `request` (absolute URI) and reads the whole answer within `timeout`.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let uri = request.uri().clone();
        let (scheme, host, port) = split_uri(&uri)?;
        let address = format!("{host}:{port}");
        let exchange = self.exchange(request, scheme, host, port, address.clone());
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                address,
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Bytes>,
        scheme: String,
        host: String,
        port: u16,
        address: String,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let protocol = |message: String| HttpError::Protocol {
            address: address.clone(),
            message,
        };
        let stream = self
            .net
            .dial(&scheme, &host, port)
            .await
            .map_err(|source| HttpError::Connect {
                address: address.clone(),
                source,
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| protocol(e.to_string()))?;
        tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        // Origin-form request target with a Host header, as HTTP/1.1 servers expect.
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
        parts.uri = path.parse().map_err(|_| HttpError::BadUrl(path.clone()))?;
        if !parts.headers.contains_key(http::header::HOST) {
            let value = http::HeaderValue::from_str(&address)
                .map_err(|_| HttpError::BadUrl(address.clone()))?;
            parts.headers.insert(http::header::HOST, value);
        }
        let response = sender
            .send_request(http::Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| protocol(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| protocol(e.to_string()))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

/// Scheme, host and port of an absolute http(s) URI (default ports 80 and 443).
pub fn split_uri(uri: &http::Uri) -> Result<(String, String, u16), HttpError> {
    let bad = || HttpError::BadUrl(uri.to_string());
    let scheme = uri.scheme_str().ok_or_else(bad)?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad()),
    };
    let host = uri.host().ok_or_else(bad)?.to_string();
    Ok((scheme, host, uri.port_u16().unwrap_or(default_port)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{RealNet, SimNet};
    use axum::routing::get;

    #[test]
    fn split_uri_fills_default_ports_and_refuses_other_schemes() {
        let parts = |s: &str| split_uri(&s.parse().unwrap());
        assert_eq!(
            parts("http://ca.org1.us-east:7054/cainfo").unwrap(),
            ("http".into(), "ca.org1.us-east".into(), 7054)
        );
        assert_eq!(parts("https://console/x").unwrap().2, 443);
        assert_eq!(parts("http://console").unwrap().2, 80);
        assert!(parts("grpcs://peer:7051").is_err());
        assert!(parts("/relative").is_err());
    }

    #[test]
    fn the_same_router_and_client_work_over_turmoil() {
        let mut sim = turmoil::Builder::new().build();
        sim.host("server", || async {
            let router = axum::Router::new().route("/ping", get(|| async { "pong" }));
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 8080)).await?;
            serve(listener, router, std::future::pending()).await?;
            Ok(())
        });
        sim.client("client", async {
            let client = HttpClient::new(SimNet);
            let request = http::Request::get("http://server:8080/ping")
                .body(Bytes::new())
                .unwrap();
            let response = client.send(request, Duration::from_secs(5)).await?;
            assert_eq!(response.status(), 200);
            assert_eq!(&response.body()[..], b"pong");
            // Nobody listens there: a connection error, not a hang.
            let request = http::Request::get("http://server:9999/ping")
                .body(Bytes::new())
                .unwrap();
            let error = client
                .send(request, Duration::from_secs(5))
                .await
                .unwrap_err();
            assert!(matches!(error, HttpError::Connect { .. }), "{error}");
            Ok(())
        });
        sim.run().unwrap();
    }

    #[tokio::test]
    async fn the_same_router_and_client_work_over_real_tcp() {
        let router = axum::Router::new().route("/ping", get(|| async { "pong" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, async {
            let _ = stopped.await;
        }));
        let client = HttpClient::new(RealNet);
        let request = http::Request::get(format!("http://{address}/ping"))
            .body(Bytes::new())
            .unwrap();
        let response = client.send(request, Duration::from_secs(5)).await.unwrap();
        assert_eq!(&response.body()[..], b"pong");
        let https = http::Request::get(format!("https://{address}/ping"))
            .body(Bytes::new())
            .unwrap();
        let error = client
            .send(https, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("TLS"), "{error}");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
