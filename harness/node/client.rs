//! The client application, as a Fabric Gateway application (fabric-gateway client SDK) runs:
//! one connection to one gateway peer, and per transaction Endorse, then Submit of the
//! transaction it signs, then CommitStatus, each call with its own deadline. The Gateway in
//! the peer (node/gateway.rs) does the rest. The SDK does not fail over on its own
//! (fabric-gateway#257): with `failover: next` the application moves to the next gateway
//! endpoint after a call failed without an answer, as an application behind a load balancer
//! does. Every operation is recorded Jepsen-style: invoke, then ok (committed VALID), fail
//! (certainly not committed) or info (outcome unknown).

use super::rpc::{CallError, Rpc};
use super::wire::{CommitStatus, GatewayCode, Wire};
use crate::clock::Clock;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::invocation::Invocation;
use crate::fabric::txbuild::{signed_envelope, signed_proposal};
use crate::fabric::types::ValidationCode;
use crate::history::{EventKind, OpPhase, Operation};
use crate::net::frame::Keepalive;
use crate::net::Net;
use crate::scenario::model::{ClientTimeouts, Failover};
use crate::workload::{submit_offset, transaction_count, AssetMix};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Records history events (the harness's instrumentation of the client).
pub type Recorder = Rc<dyn Fn(EventKind)>;

#[derive(Clone)]
pub struct ClientProgram {
    /// Host name, e.g. `client.us-east`; the `process` of its operations.
    pub name: String,
    pub identity: SigningIdentity,
    pub channel_id: String,
    pub chaincode: String,
    /// Gateway peers' endpoints (host:port), in order of preference.
    pub gateway_peers: Vec<String>,
    pub failover: Failover,
    pub timeouts: ClientTimeouts,
    pub rate_per_s: f64,
    /// When the first transaction is submitted (clock time) and for how long.
    pub start: Duration,
    pub duration: Duration,
    pub seed: u64,
    pub clock: Clock,
    pub record: Recorder,
}

/// The SDK's connection has no keepalive unless the application sets one (grpc-go).
const NO_KEEPALIVE: Keepalive = Keepalive {
    interval: Duration::from_secs(30 * 24 * 3600),
    timeout: Duration::from_secs(30 * 24 * 3600),
};
/// grpc-go's minimum connect timeout: a dial to an unreachable gateway fails after it.
const DIAL_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the workload; returns once every submitted transaction has an outcome. `restarts`
/// counts earlier runs of this client: a restarted application makes new transaction IDs.
pub async fn run(program: ClientProgram, net: Arc<dyn Net>, restarts: u64) -> io::Result<()> {
    let client = Rc::new(Client {
        rpc: Rpc::new(net, NO_KEEPALIVE, DIAL_TIMEOUT),
        gateway: Cell::new(0),
        rng: RefCell::new(ChaCha8Rng::seed_from_u64(
            program.seed ^ restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )),
        program,
    });
    let program = &client.program;
    let clock = program.clock;
    let started = clock.now();
    let mut mix = AssetMix::new(ChaCha8Rng::seed_from_u64(program.seed ^ 0xA55E7));
    let mut transactions = tokio::task::JoinSet::new();
    for n in 0..transaction_count(program.rate_per_s, program.duration) {
        // Drawn for every n, so a restarted client submits the same calls at the same times.
        let call = mix.next_call();
        let at = program.start + submit_offset(n, program.rate_per_s);
        if at < started {
            continue; // the client was down then
        }
        // Transactions due within one step of the clock go out together: at rates finer
        // than the simulation's tick every one is still submitted.
        let now = clock.now();
        if at > now {
            tokio::time::sleep(at - now).await;
        }
        let client = client.clone();
        transactions.spawn_local(async move { client.submit(n, call).await });
    }
    while transactions.join_next().await.is_some() {}
    Ok(())
}

struct Client {
    program: ClientProgram,
    rpc: Rpc,
    /// Index of the gateway endpoint in use.
    gateway: Cell<usize>,
    rng: RefCell<ChaCha8Rng>,
}

enum Outcome {
    Ok,
    Fail(String),
    Info(String),
}

impl Client {
    fn gateway(&self) -> String {
        let peers = &self.program.gateway_peers;
        peers[self.gateway.get() % peers.len().max(1)].clone()
    }

    /// A call to the gateway in use; after a failure without an answer, with `next`
    /// failover, later calls go to the next endpoint.
    async fn call(
        &self,
        timeout: Duration,
        make: impl FnOnce(u64) -> Wire,
    ) -> Result<Wire, CallError> {
        let gateway = self.gateway();
        let reply = self.rpc.call(&gateway, timeout, make).await;
        if reply.is_err() && self.program.failover == Failover::Next && self.gateway() == gateway {
            self.gateway.set(self.gateway.get() + 1);
        }
        reply
    }

    async fn submit(&self, op_id: u64, call: crate::fabric::invocation::AssetCall) {
        let program = &self.program;
        let invocation = Invocation::Chaincode {
            name: program.chaincode.clone(),
            call,
        };
        let (_, function, _) = invocation.to_parts();
        let proposal = {
            let mut rng = self.rng.borrow_mut();
            signed_proposal(
                &program.identity,
                &program.channel_id,
                &invocation,
                program.clock.now(),
                &mut *rng,
            )
        };
        let tx_id = proposal.tx_id().to_string();
        let gateway = host_of(&self.gateway());
        let record = |phase, node: Option<String>, detail: String| {
            (program.record)(EventKind::Op(Operation {
                op_id,
                process: program.name.clone(),
                phase,
                function: function.clone(),
                tx_id: Some(tx_id.clone()),
                node,
                detail,
            }))
        };
        record(OpPhase::Invoke, None, String::new());
        let outcome = self.transaction(&proposal.signed, &tx_id).await;
        match outcome {
            Outcome::Ok => record(OpPhase::Ok, Some(gateway), String::new()),
            Outcome::Fail(why) => record(OpPhase::Fail, Some(gateway), why),
            Outcome::Info(why) => record(OpPhase::Info, Some(gateway), why),
        }
    }

    /// Endorse, sign, Submit, CommitStatus (the SDK's SubmitTransaction).
    async fn transaction(
        &self,
        proposal: &crate::fabric::types::SignedProposal,
        tx_id: &str,
    ) -> Outcome {
        let program = &self.program;
        let timeouts = &program.timeouts;
        let endorsed = self
            .call(timeouts.endorse, |id| Wire::GatewayEndorse {
                id,
                proposal: proposal.clone(),
            })
            .await;
        let payload = match endorsed {
            Ok(Wire::GatewayEndorseReply {
                result: Ok(payload),
                ..
            }) => payload,
            Ok(Wire::GatewayEndorseReply { result: Err(e), .. }) => {
                return Outcome::Fail(format!("endorse: {e}"))
            }
            Ok(_) => return Outcome::Fail("endorse: unexpected reply".into()),
            // Not endorsed, so never submitted.
            Err(e) => return Outcome::Fail(format!("endorse: {e}")),
        };
        let envelope = signed_envelope(&program.identity, &payload);
        let submitted = self
            .call(timeouts.submit, |id| Wire::GatewaySubmit { id, envelope })
            .await;
        match submitted {
            Ok(Wire::GatewaySubmitReply { result: Ok(()), .. }) => {}
            // The ordering service refused it or none accepted it: not ordered.
            Ok(Wire::GatewaySubmitReply { result: Err(e), .. })
                if matches!(e.code, GatewayCode::Aborted | GatewayCode::Unavailable) =>
            {
                return Outcome::Fail(format!("submit: {e}"))
            }
            Ok(Wire::GatewaySubmitReply { result: Err(e), .. }) => {
                return Outcome::Info(format!("submit: {e}"))
            }
            Ok(_) => return Outcome::Info("submit: unexpected reply".into()),
            // The gateway may have broadcast it before the answer was lost.
            Err(e) => return Outcome::Info(format!("submit: {e}")),
        }
        let wait = timeouts.commit_status;
        let status = self
            .call(wait + Duration::from_secs(1), |id| Wire::CommitStatus {
                id,
                channel_id: program.channel_id.clone(),
                tx_id: tx_id.to_string(),
                timeout_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            })
            .await;
        match status {
            Ok(Wire::CommitStatusReply {
                status: CommitStatus::Committed { code, block_number },
                ..
            }) => {
                if code == ValidationCode::Valid {
                    Outcome::Ok
                } else {
                    Outcome::Fail(format!("committed in block {block_number} as {code:?}"))
                }
            }
            Ok(Wire::CommitStatusReply { status, .. }) => {
                Outcome::Info(format!("submitted; commit status unknown: {status:?}"))
            }
            Ok(_) => Outcome::Info("submitted; commit status: unexpected reply".into()),
            Err(e) => Outcome::Info(format!("submitted; commit status unknown: {e}")),
        }
    }
}

fn host_of(endpoint: &str) -> String {
    endpoint
        .rsplit_once(':')
        .map_or(endpoint, |(host, _)| host)
        .to_string()
}
