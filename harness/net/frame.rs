//! Framed connections between nodes: length-prefixed postcard messages over any
//! [`Stream`](super::Stream), with gRPC-style keepalive.
//!
//! Each frame is `u32 length (big endian) | u8 kind | payload`. A connection runs a reader
//! and a writer task; messages arrive on the owner's inbox tagged with the connection's id,
//! and the owner learns when the connection closes. Keepalive pings are sent when nothing was
//! sent for `interval`, and the connection closes when nothing was received for
//! `interval + timeout` (peer.keepalive.client.{interval,timeout} in core.yaml): a stream
//! stalled by a partition is noticed the way gRPC notices it.

use super::BoxIo;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Largest frame accepted: Fabric's default maxRecvMsgSize (100 MiB).
pub const MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

const KIND_PING: u8 = 0;
const KIND_PONG: u8 = 1;
const KIND_MESSAGE: u8 = 2;

/// Identifies a connection within one node.
pub type ConnectionId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub interval: Duration,
    pub timeout: Duration,
}

/// What a connection reports to its owner.
#[derive(Debug)]
pub enum ConnectionEvent<M> {
    Message(ConnectionId, M),
    Closed(ConnectionId, String),
}

/// The owner's handle: send messages, close.
pub struct Connection<M> {
    pub id: ConnectionId,
    /// Who is at the other end (host name or address).
    pub peer: String,
    outbox: mpsc::UnboundedSender<Outgoing>,
    open: Rc<Cell<bool>>,
    _message: PhantomData<fn(M)>,
}

enum Outgoing {
    Frame(u8, Bytes),
    Close,
}

/// Encodes a message once, so the same bytes can go to many connections.
pub fn encode_message<T: Serialize>(message: &T) -> Bytes {
    Bytes::from(postcard::to_allocvec(message).expect("in-memory encoding does not fail"))
}

impl<M: Serialize> Connection<M> {
    /// Queues `message`; false when the connection is already closed.
    pub fn send(&self, message: &M) -> bool {
        self.send_encoded(encode_message(message))
    }

    /// Queues a message encoded with [`encode_message`].
    pub fn send_encoded(&self, bytes: Bytes) -> bool {
        self.open.get()
            && self
                .outbox
                .send(Outgoing::Frame(KIND_MESSAGE, bytes))
                .is_ok()
    }

    pub fn close(&self) {
        let _ = self.outbox.send(Outgoing::Close);
        self.open.set(false);
    }

    pub fn is_open(&self) -> bool {
        self.open.get()
    }
}

impl<M> Drop for Connection<M> {
    fn drop(&mut self) {
        let _ = self.outbox.send(Outgoing::Close);
    }
}

/// Starts the reader, writer and keepalive of `stream` on the current LocalSet; messages
/// and the close event (exactly one) go to `inbox`.
pub fn spawn<M: DeserializeOwned + 'static>(
    id: ConnectionId,
    peer: String,
    stream: BoxIo,
    keepalive: Keepalive,
    inbox: mpsc::UnboundedSender<ConnectionEvent<M>>,
) -> Connection<M> {
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let open = Rc::new(Cell::new(true));
    let last_heard = Rc::new(Cell::new(tokio::time::Instant::now()));
    let (mut reader, mut writer) = tokio::io::split(stream);

    // Whoever ends the connection first reports it, once.
    let report_close = {
        let open = open.clone();
        let inbox = inbox.clone();
        move |reason: String| {
            if open.replace(false) {
                let _ = inbox.send(ConnectionEvent::Closed(id, reason));
            }
        }
    };

    // Reader: decodes frames and answers pings.
    let pong = outbox.clone();
    let heard = last_heard.clone();
    let reader_close = report_close.clone();
    let reader_task = tokio::task::spawn_local(async move {
        let reason = loop {
            match read_frame(&mut reader).await {
                Ok(Some((kind, payload))) => {
                    heard.set(tokio::time::Instant::now());
                    match kind {
                        KIND_PING => {
                            let _ = pong.send(Outgoing::Frame(KIND_PONG, Bytes::new()));
                        }
                        KIND_PONG => {}
                        _ => match postcard::from_bytes::<M>(&payload) {
                            Ok(message) => {
                                if inbox.send(ConnectionEvent::Message(id, message)).is_err() {
                                    break "owner gone".to_string();
                                }
                            }
                            Err(e) => break format!("bad frame: {e}"),
                        },
                    }
                }
                Ok(None) => break "connection ended".to_string(),
                Err(e) => break format!("read failed: {e}"),
            }
        };
        reader_close(reason);
        let _ = pong.send(Outgoing::Close);
    });

    // Writer: frames in order; pings after `interval` without sending; closes after a
    // silence of interval + timeout.
    tokio::task::spawn_local(async move {
        let silence_limit = keepalive.interval + keepalive.timeout;
        let reason = loop {
            let ping_at = tokio::time::Instant::now() + keepalive.interval;
            tokio::select! {
                biased;
                next = outgoing.recv() => match next {
                    Some(Outgoing::Frame(kind, bytes)) => {
                        if let Err(e) = write_frame(&mut writer, kind, &bytes).await {
                            break format!("write failed: {e}");
                        }
                    }
                    Some(Outgoing::Close) | None => break "closed".to_string(),
                },
                _ = tokio::time::sleep_until(ping_at) => {
                    if last_heard.get().elapsed() >= silence_limit {
                        break format!("keepalive: nothing received for {silence_limit:?}");
                    }
                    if let Err(e) = write_frame(&mut writer, KIND_PING, &[]).await {
                        break format!("write failed: {e}");
                    }
                }
            }
        };
        reader_task.abort();
        report_close(reason);
        let _ = writer.shutdown().await;
    });

    Connection {
        id,
        peer,
        outbox,
        open,
        _message: PhantomData,
    }
}

async fn write_frame<W: tokio::io::AsyncWrite + Unpin>(
    writer: &mut W,
    kind: u8,
    payload: &[u8],
) -> io::Result<()> {
    let length = u32::try_from(payload.len() + 1)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut header = [0u8; 5];
    header[..4].copy_from_slice(&length.to_be_bytes());
    header[4] = kind;
    writer.write_all(&header).await?;
    writer.write_all(payload).await?;
    writer.flush().await
}

/// The next frame, or None at a clean end of stream.
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length == 0 || length > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {length} bytes"),
        ));
    }
    let kind = reader.read_u8().await?;
    let mut payload = vec![0u8; length - 1];
    reader.read_exact(&mut payload).await?;
    Ok(Some((kind, payload)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Net, SimNet};
    use std::cell::RefCell;

    const KEEPALIVE: Keepalive = Keepalive {
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
    };

    /// A server echoing every message back, with keepalive.
    fn echo_server(sim: &mut turmoil::Sim<'_>) {
        sim.host("server", || async {
            let mut listener = SimNet.bind(7000).await?;
            let (inbox, mut events) = mpsc::unbounded_channel::<ConnectionEvent<String>>();
            let mut connections = Vec::new();
            let mut next_id = 0;
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, peer) = accepted?;
                        connections.push(spawn::<String>(next_id, peer.to_string(), stream, KEEPALIVE, inbox.clone()));
                        next_id += 1;
                    }
                    Some(ConnectionEvent::Message(id, text)) = events.recv() => {
                        connections[id as usize].send(&format!("echo {text}"));
                    }
                }
            }
        });
    }

    #[test]
    fn messages_round_trip_in_order() -> turmoil::Result {
        let mut sim = turmoil::Builder::new().rng_seed(1).build();
        echo_server(&mut sim);
        sim.client("client", async {
            let stream = SimNet.dial("tcp", "server", 7000).await?;
            let (inbox, mut events) = mpsc::unbounded_channel();
            let connection = spawn::<String>(0, "server".into(), stream, KEEPALIVE, inbox);
            for i in 0..20 {
                assert!(connection.send(&format!("m{i}")));
            }
            for i in 0..20 {
                match events.recv().await {
                    Some(ConnectionEvent::Message(0, text)) => {
                        assert_eq!(text, format!("echo m{i}"))
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            Ok(())
        });
        sim.run()
    }

    #[test]
    fn keepalive_closes_a_partitioned_connection_after_interval_plus_timeout() -> turmoil::Result {
        let mut sim = turmoil::Builder::new()
            .rng_seed(1)
            .simulation_duration(Duration::from_secs(60))
            .build();
        echo_server(&mut sim);
        let closed_after = Rc::new(RefCell::new(None));
        let observed = closed_after.clone();
        sim.client("client", async move {
            let stream = SimNet.dial("tcp", "server", 7000).await?;
            let (inbox, mut events) = mpsc::unbounded_channel::<ConnectionEvent<String>>();
            let _connection = spawn::<String>(0, "server".into(), stream, KEEPALIVE, inbox);
            let start = tokio::time::Instant::now();
            turmoil::partition("client", "server");
            loop {
                if let Some(ConnectionEvent::Closed(_, reason)) = events.recv().await {
                    *observed.borrow_mut() = Some((start.elapsed(), reason));
                    return Ok(());
                }
            }
        });
        sim.run()?;
        let (after, reason) = closed_after.borrow().clone().expect("closed");
        assert!(reason.starts_with("keepalive"), "{reason}");
        // Noticed at the first ping after the silence limit (7 s): at 10 s.
        assert!(
            after >= Duration::from_secs(7) && after <= Duration::from_secs(11),
            "{after:?}"
        );
        Ok(())
    }

    #[test]
    fn oversized_and_garbage_frames_close_the_connection() -> turmoil::Result {
        let mut sim = turmoil::Builder::new().rng_seed(1).build();
        echo_server(&mut sim);
        sim.client("client", async {
            let mut stream = SimNet.dial("tcp", "server", 7000).await?;
            // A frame claiming to be 200 MiB.
            stream
                .write_all(&(200u32 * 1024 * 1024).to_be_bytes())
                .await?;
            stream.write_all(&[KIND_MESSAGE]).await?;
            let mut buf = [0u8; 1];
            // The server drops the connection instead of allocating.
            match stream.read(&mut buf).await {
                Ok(0) => {}
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
                Ok(n) => panic!("read {n} bytes from a connection that should be closed"),
            }
            Ok(())
        });
        sim.run()
    }
}
