//! Framed connections between nodes: length-prefixed postcard messages over any
//! [`Stream`](super::Stream), with gRPC-style keepalive.
//!
//! Each frame is `u32 length (big endian) | u8 kind | payload`. A connection runs a reader
//! and a writer task; messages arrive on the owner's inbox tagged with the connection's id,
//! and the owner learns when the connection closes. Keepalive pings are sent when nothing was
//! received for `interval`, and the connection closes when nothing was received for
//! `interval + timeout` (peer.keepalive.client.{interval,timeout} in core.yaml), whatever it
//! writes: a stream stalled by a partition is noticed the way gRPC notices it.

use super::BoxIo;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

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
    /// A message whose sender wants to know when it was written to the socket.
    Reported(Bytes, oneshot::Sender<()>),
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

    /// Queues `message` and returns a receiver that completes once the message was written
    /// to the socket (grpc-go's SendMsg returning), or fails when the connection closes
    /// first: a write blocked by a full send buffer is not reported.
    pub fn send_reported(&self, message: &M) -> oneshot::Receiver<()> {
        let (report, reported) = oneshot::channel();
        if self.open.get() {
            let _ = self
                .outbox
                .send(Outgoing::Reported(encode_message(message), report));
        }
        reported
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
///
/// Keepalive works as grpc-go's client keepalive does (internal/transport/http2_client.go
/// `keepalive`): when nothing was *received* for `interval`, send a ping; when still nothing
/// was received `timeout` later, close. It runs on its own task, so a writer blocked on a
/// full send buffer (a stalled link) does not keep a dead connection open.
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

    // Keepalive: pings through the writer, and closes the connection itself, aborting a
    // writer that may be blocked on a full send buffer.
    let writer_slot: Rc<Cell<Option<tokio::task::AbortHandle>>> = Rc::new(Cell::new(None));
    let writer_to_abort = writer_slot.clone();
    let ping = outbox.clone();
    let keepalive_close = report_close.clone();
    let reader_abort = reader_task.abort_handle();
    let keepalive_task = tokio::task::spawn_local(async move {
        let mut pinged_after = None;
        loop {
            let heard = last_heard.get();
            let ping_at = heard + keepalive.interval;
            let close_at = ping_at + keepalive.timeout;
            let wake = if pinged_after == Some(heard) {
                close_at
            } else {
                ping_at
            };
            tokio::time::sleep_until(wake).await;
            if last_heard.get() != heard {
                continue;
            }
            if tokio::time::Instant::now() >= close_at {
                let silence = keepalive.interval + keepalive.timeout;
                keepalive_close(format!("keepalive: nothing received for {silence:?}"));
                reader_abort.abort();
                if let Some(writer) = writer_to_abort.take() {
                    writer.abort();
                }
                return;
            }
            if pinged_after != Some(heard) {
                let _ = ping.send(Outgoing::Frame(KIND_PING, Bytes::new()));
                pinged_after = Some(heard);
            }
        }
    });

    // Writer: frames in order, until closed.
    let keepalive_abort = keepalive_task.abort_handle();
    let writer_close = report_close;
    let writer_task = tokio::task::spawn_local(async move {
        let reason = loop {
            match outgoing.recv().await {
                Some(Outgoing::Frame(kind, bytes)) => {
                    if let Err(e) = write_frame(&mut writer, kind, &bytes).await {
                        break format!("write failed: {e}");
                    }
                }
                Some(Outgoing::Reported(bytes, report)) => {
                    if let Err(e) = write_frame(&mut writer, KIND_MESSAGE, &bytes).await {
                        break format!("write failed: {e}");
                    }
                    let _ = report.send(());
                }
                Some(Outgoing::Close) | None => break "closed".to_string(),
            }
        };
        reader_task.abort();
        keepalive_abort.abort();
        writer_close(reason);
        let _ = writer.shutdown().await;
    });
    writer_slot.set(Some(writer_task.abort_handle()));

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
        // As grpc-go: interval + timeout after the last read (7 s).
        assert!(
            after >= Duration::from_secs(7) && after <= Duration::from_millis(7_010),
            "{after:?}"
        );
        Ok(())
    }

    #[test]
    fn keepalive_closes_a_stalled_connection_however_much_it_writes() -> turmoil::Result {
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
            let connection = spawn::<String>(0, "server".into(), stream, KEEPALIVE, inbox);
            let start = tokio::time::Instant::now();
            // Messages held on the link: the send buffer fills, the writer blocks.
            turmoil::hold("client", "server");
            loop {
                connection.send(&"busy".to_string());
                tokio::select! {
                    Some(event) = events.recv() => {
                        if let ConnectionEvent::Closed(_, reason) = event {
                            *observed.borrow_mut() = Some((start.elapsed(), reason));
                            return Ok(());
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
        sim.run()?;
        let (after, reason) = closed_after.borrow().clone().expect("closed");
        assert!(reason.starts_with("keepalive"), "{reason}");
        assert!(
            after >= Duration::from_secs(7) && after <= Duration::from_millis(7_110),
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
