//! Sockets for node programs, the same code on turmoil's simulated network (`sim`) and on
//! real TCP (`containers`, `hadr node`): a node binds and dials through a [`Net`], and
//! exchanges framed messages (frame.rs) or HTTP/1.1 (http.rs: the same axum Router and
//! HTTP client on both networks).

pub mod frame;
pub mod http;
pub mod server;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// A bidirectional byte stream: a real or a simulated TCP connection. `Send`, because
/// axum handlers (the mock console probing nodes, proxying to CAs) must be.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub type BoxIo = Box<dyn Io>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A listening socket: tokio's `TcpListener` (real sockets) or turmoil's.
pub trait Accept: Send + 'static {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxIo, SocketAddr)>>;
    /// The port it listens on (the one asked for, or the kernel's choice for port 0).
    fn local_port(&self) -> io::Result<u16>;
}

impl Accept for Box<dyn Accept> {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxIo, SocketAddr)>> {
        (**self).accept()
    }

    fn local_port(&self) -> io::Result<u16> {
        (**self).local_port()
    }
}

impl Accept for tokio::net::TcpListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxIo, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
            stream.set_nodelay(true)?;
            Ok((Box::new(stream) as BoxIo, peer))
        })
    }

    fn local_port(&self) -> io::Result<u16> {
        Ok(self.local_addr()?.port())
    }
}

impl Accept for turmoil::net::TcpListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxIo, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = turmoil::net::TcpListener::accept(self).await?;
            Ok((Box::new(stream) as BoxIo, peer))
        })
    }

    fn local_port(&self) -> io::Result<u16> {
        Ok(self.local_addr()?.port())
    }
}

/// How a node opens connections and listens: turmoil's network or the host's.
pub trait Net: Send + Sync + 'static {
    /// A connection to `host:port`; `scheme` is the URL scheme for HTTP (`http`, `https`)
    /// or `tcp` for node-to-node connections.
    fn dial<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<BoxIo>>;

    /// A listener on `port` of every address of this host.
    fn bind(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Accept>>>;
}

impl Net for Arc<dyn Net> {
    fn dial<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<BoxIo>> {
        (**self).dial(scheme, host, port)
    }

    fn bind(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Accept>>> {
        (**self).bind(port)
    }
}

/// turmoil's simulated TCP: host names resolve through the simulation. `https` URLs are
/// carried as plaintext: there is nothing to protect inside a simulation, and the URLs
/// keep the shape real consoles give out.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimNet;

impl Net for SimNet {
    fn dial<'a>(
        &'a self,
        _scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<BoxIo>> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect((host, port)).await?;
            Ok(Box::new(stream) as BoxIo)
        })
    }

    fn bind(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Accept>>> {
        Box::pin(async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?;
            Ok(Box::new(listener) as Box<dyn Accept>)
        })
    }
}

/// The host's real TCP stack. Plain TCP only: TLS is not implemented, so `https` URLs are
/// refused with a clear error.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealNet;

impl Net for RealNet {
    fn dial<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<BoxIo>> {
        Box::pin(async move {
            if scheme == "https" {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "https URLs are not supported on real sockets (TLS is not implemented); use http",
                ));
            }
            let stream = tokio::net::TcpStream::connect((host, port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxIo)
        })
    }

    fn bind(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Accept>>> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
            Ok(Box::new(listener) as Box<dyn Accept>)
        })
    }
}
