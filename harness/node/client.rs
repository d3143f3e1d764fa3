//! The client application, as a Fabric Gateway application (fabric-gateway client SDK) runs:
//! one connection to one gateway peer, and per transaction Endorse, then Submit of the
//! transaction it signs, then CommitStatus, each call with its own deadline. The Gateway in
//! the peer (node/gateway.rs) does the rest. The SDK does not fail over on its own
//! (fabric-gateway#257): with `failover: next` the application moves to the next gateway
//! endpoint after a call failed without an answer, as an application behind a load balancer
//! does. Every operation is recorded Jepsen-style: invoke, then ok (committed VALID), fail
//! (certainly not committed) or info (outcome unknown). An evaluate (the SDK's
//! EvaluateTransaction) is one Evaluate call: ok with an answer, fail without one.

use super::rpc::{CallError, Rpc};
use super::spec::ClientSpec;
use super::wire::{CommitStatus, GatewayCode, Wire};
use crate::clock::Clock;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::invocation::AssetCall;
use crate::fabric::invocation::Invocation;
use crate::fabric::txbuild::{signed_envelope, signed_proposal};
use crate::fabric::types::ValidationCode;
use crate::history::{EventKind, OpPhase, Operation};
use crate::net::frame::Keepalive;
use crate::net::Net;
use crate::scenario::model::Failover;
use crate::workload::{AssetMix, Call, Schedule};
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
    pub spec: ClientSpec,
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
    let spec = &program.spec;
    let client = Rc::new(Client {
        rpc: Rpc::new(net, NO_KEEPALIVE, DIAL_TIMEOUT),
        gateway: Cell::new(0),
        rng: RefCell::new(ChaCha8Rng::seed_from_u64(
            spec.seed ^ restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )),
        program: program.clone(),
    });
    let clock = program.clock;
    let started = clock.now();
    let mix = Rc::new(RefCell::new(AssetMix::new(
        ChaCha8Rng::seed_from_u64(spec.seed ^ 0xA55E7),
        spec.calls.clone(),
        &spec.id_prefix,
    )));
    let schedule = Schedule::new(spec.rate_per_s, &spec.rate_changes, spec.duration);
    let mut transactions = tokio::task::JoinSet::new();
    for n in 0..schedule.count() {
        let at = spec.start + schedule.offset(n);
        if at < started {
            // Drawn for every n, so a restarted client submits the same kinds of calls at
            // the same times.
            mix.borrow_mut().next_call();
            continue; // the client was down then
        }
        // Transactions due within one step of the clock go out together: at rates finer
        // than the simulation's tick every one is still submitted.
        let now = clock.now();
        if at > now {
            tokio::time::sleep(at - now).await;
        }
        // Drawn when due, knowing what has committed by then.
        let call = mix.borrow_mut().next_call();
        let created = match &call {
            Call::Submit(AssetCall::CreateAsset { id, .. }) => Some(id.clone()),
            _ => None,
        };
        let (client, mix) = (client.clone(), mix.clone());
        transactions.spawn_local(async move {
            let committed = client.submit(n, call).await;
            if let (true, Some(id)) = (committed, created) {
                mix.borrow_mut().committed(&id);
            }
        });
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
        let peers = &self.program.spec.gateway_peers;
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
        if reply.is_err()
            && self.program.spec.failover == Failover::Next
            && self.gateway() == gateway
        {
            self.gateway.set(self.gateway.get() + 1);
        }
        reply
    }

    /// Makes the call and records it; whether it succeeded (a submit committed VALID).
    async fn submit(&self, op_id: u64, call: Call) -> bool {
        let program = &self.program;
        let (call, evaluate) = match call {
            Call::Submit(call) => (call, false),
            Call::Evaluate(call) => (call, true),
        };
        let invocation = Invocation::Chaincode {
            name: program.spec.chaincode.clone(),
            call,
        };
        let (_, function, _) = invocation.to_parts();
        let proposal = {
            let mut rng = self.rng.borrow_mut();
            signed_proposal(
                &program.identity,
                &program.spec.channel_id,
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
                // An evaluate's proposal is never ordered: it is not a transaction.
                tx_id: (!evaluate).then(|| tx_id.clone()),
                node,
                detail,
            }))
        };
        record(OpPhase::Invoke, None, String::new());
        let outcome = if evaluate {
            self.evaluate(&proposal.signed).await
        } else {
            self.transaction(&proposal.signed, &tx_id).await
        };
        match outcome {
            Outcome::Ok => {
                record(OpPhase::Ok, Some(gateway), String::new());
                return true;
            }
            Outcome::Fail(why) => record(OpPhase::Fail, Some(gateway), why),
            Outcome::Info(why) => record(OpPhase::Info, Some(gateway), why),
        }
        false
    }

    /// Evaluate (the SDK's EvaluateTransaction): it changes nothing, so without an answer it
    /// certainly failed.
    async fn evaluate(&self, proposal: &crate::fabric::types::SignedProposal) -> Outcome {
        let reply = self
            .call(self.program.spec.timeouts.evaluate, |id| {
                Wire::GatewayEvaluate {
                    id,
                    proposal: proposal.clone(),
                }
            })
            .await;
        match reply {
            Ok(Wire::GatewayEvaluateReply {
                result: Ok(response),
                ..
            }) if response.status == crate::fabric::chaincode::STATUS_OK => Outcome::Ok,
            Ok(Wire::GatewayEvaluateReply {
                result: Ok(response),
                ..
            }) => Outcome::Fail(format!(
                "evaluate: status {}: {}",
                response.status, response.message
            )),
            Ok(Wire::GatewayEvaluateReply { result: Err(e), .. }) => {
                Outcome::Fail(format!("evaluate: {e}"))
            }
            Ok(_) => Outcome::Fail("evaluate: unexpected reply".into()),
            Err(e) => Outcome::Fail(format!("evaluate: {e}")),
        }
    }

    /// Endorse, sign, Submit, CommitStatus (the SDK's SubmitTransaction).
    async fn transaction(
        &self,
        proposal: &crate::fabric::types::SignedProposal,
        tx_id: &str,
    ) -> Outcome {
        let program = &self.program;
        let timeouts = &program.spec.timeouts;
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
                channel_id: program.spec.channel_id.clone(),
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
