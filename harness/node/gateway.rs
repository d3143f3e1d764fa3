//! The Gateway service inside a peer (F internal/pkg/gateway, v2.5): what a client
//! application's Evaluate, Endorse and Submit calls do, on the gateway peer it is connected
//! to. Rules from the source (notes in the closing sections of the project's research):
//!
//! - Endorse: the first endorsement comes from the gateway's own organization, its
//!   highest-ledger-height peer that has the chaincode (the gateway's own peer wins a tie,
//!   with its live height); on any failure the next peer of that organization, never another
//!   organization. Then the plan: the ways to meet the chaincode's endorsement policy
//!   (layouts) over the peers discovery reports (those with an external endpoint), those
//!   holding the first endorser's organization first, each half in random order; the groups
//!   of a layout are endorsed in parallel, each trying its peers (height first, random ties)
//!   one after another on any failure, every call with `peer.gateway.endorsementTimeout`.
//!   A failed peer's connection is closed (removeEndorser); it is tried again on the next
//!   request while gossip still lists it.
//! - Submit: the ordering nodes in random order, each once, with `broadcastTimeout`; a 4xx
//!   status aborts, any other failure moves to the next.
//! - Evaluate: the own organization's peers first, then the others', by height; only a
//!   failure without an answer moves to the next peer.
//!
//! Commit status is the peer's own (node/peer.rs): the Gateway asks only its own ledger.

use super::rpc::{CallError, Rpc};
use super::wire::{GatewayCode, GatewayError, Wire};
use crate::fabric::config::GatewayConfig;
use crate::fabric::deliver_wire::Status;
use crate::fabric::endorsement_policy::{EndorsementPolicy, Layout};
use crate::fabric::gossip::ChannelMember;
use crate::fabric::txbuild::transaction_payload;
use crate::fabric::types::{decode, Payload, Proposal, ProposalResponse, Response, SignedProposal};
use crate::history::LogLine;
use crate::net::frame::Keepalive;
use crate::net::Net;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the Gateway asks of its own peer.
pub enum Local {
    /// Endorse in-process (the local endorser needs no connection).
    Endorse(SignedProposal, oneshot::Sender<ProposalResponse>),
    /// The registry's view for `chaincode` on `channel_id`.
    Registry {
        channel_id: String,
        chaincode: String,
        reply: oneshot::Sender<Option<Registry>>,
    },
}

/// What the registry knows when a request arrives: the channel's members from gossip, the
/// ordering nodes from the channel config, the chaincode's committed policy.
#[derive(Clone, Debug)]
pub struct Registry {
    pub own_height: u64,
    /// Whether the gateway's own peer has an external endpoint (discovery lists it).
    pub own_external: bool,
    pub members: Vec<ChannelMember>,
    /// host:port of the channel's ordering nodes.
    pub orderers: Vec<String>,
    /// The chaincode's endorsement policy, None when no definition is committed.
    pub policy: Option<EndorsementPolicy>,
    pub application_orgs: Vec<String>,
}

/// An endorsing peer as the Gateway ranks it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endorser {
    endpoint: String,
    msp_id: String,
    height: u64,
    local: bool,
}

/// The Gateway of one peer.
pub struct Gateway {
    /// The peer's own endpoint and organization.
    endpoint: String,
    msp_id: String,
    config: GatewayConfig,
    rpc: Rpc,
    local: mpsc::UnboundedSender<Local>,
    log: super::NodeLog,
    rng: RefCell<ChaCha8Rng>,
}

/// Fabric dials the Gateway's connections without keepalive options (grpc-go: none).
const NO_KEEPALIVE: Keepalive = Keepalive {
    interval: Duration::from_secs(30 * 24 * 3600),
    timeout: Duration::from_secs(30 * 24 * 3600),
};

fn error(code: GatewayCode, message: &str, details: Vec<String>) -> GatewayError {
    GatewayError {
        code,
        message: message.to_string(),
        details,
    }
}

impl Gateway {
    pub fn new(
        endpoint: String,
        msp_id: String,
        config: GatewayConfig,
        net: Arc<dyn Net>,
        local: mpsc::UnboundedSender<Local>,
        log: super::NodeLog,
        rng: ChaCha8Rng,
    ) -> Gateway {
        // The call's deadline bounds a dial as well.
        let dial_timeout = config.endorsement_timeout;
        Gateway {
            endpoint,
            msp_id,
            rpc: Rpc::new(net, NO_KEEPALIVE, dial_timeout),
            config,
            local,
            log,
            rng: RefCell::new(rng),
        }
    }

    async fn registry(&self, channel_id: &str, chaincode: &str) -> Result<Registry, GatewayError> {
        let (reply, answer) = oneshot::channel();
        let _ = self.local.send(Local::Registry {
            channel_id: channel_id.to_string(),
            chaincode: chaincode.to_string(),
            reply,
        });
        answer.await.ok().flatten().ok_or_else(|| {
            error(
                GatewayCode::FailedPrecondition,
                &format!("channel does not exist: {channel_id}"),
                Vec::new(),
            )
        })
    }

    /// `members` of `msp_id` (or of every org) with the own peer, ranked by height: random
    /// order first (Go's map order in the registry), then a stable sort, the own peer first
    /// on a tie when `prefer_local`.
    fn ranked(
        &self,
        registry: &Registry,
        msp_id: Option<&str>,
        discoverable: bool,
        prefer_local: bool,
    ) -> Vec<Endorser> {
        let mut list: Vec<Endorser> = registry
            .members
            .iter()
            .filter(|m| msp_id.is_none_or(|org| m.msp_id == org))
            .filter(|m| !discoverable || !m.external_endpoint.is_empty())
            .map(|m| Endorser {
                endpoint: m.endpoint.clone(),
                msp_id: m.msp_id.clone(),
                height: m.ledger_height,
                local: false,
            })
            .collect();
        let own_org = msp_id.is_none_or(|org| org == self.msp_id);
        if own_org && (!discoverable || registry.own_external) {
            list.push(Endorser {
                endpoint: self.endpoint.clone(),
                msp_id: self.msp_id.clone(),
                height: registry.own_height,
                local: true,
            });
        }
        list.shuffle(&mut *self.rng.borrow_mut());
        list.sort_by(|a, b| {
            b.height
                .cmp(&a.height)
                .then((prefer_local && b.local).cmp(&(prefer_local && a.local)))
        });
        list
    }

    /// One endorsement, in-process on the own peer or over the network.
    async fn endorse_on(
        &self,
        endorser: &Endorser,
        proposal: &SignedProposal,
    ) -> Result<ProposalResponse, String> {
        let response = if endorser.local {
            let (reply, answer) = oneshot::channel();
            let _ = self.local.send(Local::Endorse(proposal.clone(), reply));
            answer
                .await
                .map_err(|_| "the local endorser stopped".to_string())?
        } else {
            let call = self
                .rpc
                .call(&endorser.endpoint, self.config.endorsement_timeout, |id| {
                    Wire::Endorse {
                        id,
                        proposal: proposal.clone(),
                    }
                })
                .await;
            match call {
                Ok(Wire::EndorseReply { response, .. }) => response,
                Ok(_) => return Err(format!("{}: unexpected reply", endorser.endpoint)),
                Err(e) => {
                    // removeEndorser: the next request dials again.
                    self.rpc.disconnect(&endorser.endpoint);
                    return Err(e.to_string());
                }
            }
        };
        if (200..400).contains(&response.response.status) && response.endorsement.is_some() {
            Ok(response)
        } else {
            Err(format!(
                "{}: chaincode response {}, {}",
                endorser.endpoint, response.response.status, response.response.message
            ))
        }
    }

    /// The decoded proposal and what discovery knows of its channel and chaincode.
    async fn proposal_and_registry(
        &self,
        signed: &SignedProposal,
    ) -> Result<(Proposal, Registry), GatewayError> {
        let proposal: Proposal = decode(&signed.proposal_bytes).map_err(|e| {
            error(
                GatewayCode::FailedPrecondition,
                &format!("invalid proposal: {e}"),
                Vec::new(),
            )
        })?;
        let registry = self
            .registry(&proposal.header.channel_id, &proposal.chaincode)
            .await?;
        Ok((proposal, registry))
    }

    /// Endorse: the prepared transaction for the client to sign.
    pub async fn endorse(&self, signed: SignedProposal) -> Result<Payload, GatewayError> {
        let (proposal, registry) = self.proposal_and_registry(&signed).await?;
        let mut details = Vec::new();

        // The first endorsement, on the own organization only.
        let mut first = None;
        for endorser in self.ranked(&registry, Some(&self.msp_id), false, true) {
            match self.endorse_on(&endorser, &signed).await {
                Ok(response) => {
                    first = Some((endorser, response));
                    break;
                }
                Err(why) => details.push(why),
            }
        }
        let Some((first_endorser, first_response)) = first else {
            return Err(error(
                GatewayCode::Aborted,
                "failed to endorse transaction, see attached details for more info",
                details,
            ));
        };

        let policy = registry.policy.clone().unwrap_or_default();
        let mut layouts = self.plan(&policy, &registry);
        if layouts.is_empty() {
            return Err(error(
                GatewayCode::FailedPrecondition,
                "failed to select a set of endorsers that satisfy the endorsement policy due to unavailability of peers",
                details,
            ));
        }
        // Each group's peers, best first, without the first endorser.
        let mut queues: BTreeMap<String, VecDeque<Endorser>> = BTreeMap::new();
        for org in layouts
            .iter()
            .flat_map(|l| l.keys())
            .collect::<BTreeSet<_>>()
        {
            let peers = self
                .ranked(&registry, Some(org), true, true)
                .into_iter()
                .filter(|e| e.endpoint != first_endorser.endpoint)
                .collect();
            queues.insert(org.clone(), peers);
        }
        let reference = first_response.payload.clone();
        let mut collected: BTreeMap<String, Vec<ProposalResponse>> = BTreeMap::new();
        collected
            .entry(first_endorser.msp_id.clone())
            .or_default()
            .push(first_response.clone());
        while let Some(layout) = layouts.first().cloned() {
            let missing: Vec<(String, usize)> = layout
                .iter()
                .map(|(org, n)| {
                    (
                        org.clone(),
                        n.saturating_sub(collected.get(org).map_or(0, Vec::len)),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            // The groups of a layout in parallel, each trying its peers in turn.
            let groups = missing.iter().map(|(org, n)| {
                let queue = queues.remove(org).unwrap_or_default();
                self.endorse_group(org.clone(), *n, queue, &signed, &reference)
            });
            let results = futures_util::future::join_all(groups).await;
            let mut exhausted = BTreeSet::new();
            for (org, responses, queue, failures) in results {
                details.extend(failures);
                if queue.is_empty()
                    && responses.len()
                        < missing
                            .iter()
                            .find(|(o, _)| *o == org)
                            .map_or(0, |(_, n)| *n)
                {
                    exhausted.insert(org.clone());
                }
                collected.entry(org.clone()).or_default().extend(responses);
                queues.insert(org, queue);
            }
            let met = layout
                .iter()
                .all(|(org, n)| collected.get(org).map_or(0, Vec::len) >= *n);
            if met {
                let mut responses = vec![first_response.clone()];
                for (org, n) in &layout {
                    let extra = collected.get(org).into_iter().flatten();
                    let own = usize::from(*org == first_endorser.msp_id);
                    responses.extend(extra.skip(own).take(n.saturating_sub(own)).cloned());
                }
                return transaction_payload(&proposal, &responses).map_err(|e| {
                    error(
                        GatewayCode::Aborted,
                        &format!("failed to assemble transaction: {e}"),
                        details,
                    )
                });
            }
            // A group with no peer left ends every layout that still needs it.
            layouts.retain(|l| {
                l.iter().all(|(org, n)| {
                    !exhausted.contains(org) || collected.get(org).map_or(0, Vec::len) >= *n
                })
            });
            layouts.retain(|l| *l != layout);
        }
        Err(error(
            GatewayCode::Aborted,
            "failed to collect enough transaction endorsements, see attached details for more info",
            details,
        ))
    }

    /// The layouts the policy allows with the peers discovery reports, those with the
    /// gateway's organization first, each half in random order (registry.go endorsementPlan).
    fn plan(&self, policy: &EndorsementPolicy, registry: &Registry) -> Vec<Layout> {
        let available = |org: &str| self.ranked(registry, Some(org), true, false).len();
        let (mut preferred, mut rest): (Vec<Layout>, Vec<Layout>) = policy
            .layouts(&registry.application_orgs)
            .into_iter()
            .filter(|l| l.iter().all(|(org, n)| available(org) >= *n))
            .partition(|l| l.contains_key(&self.msp_id));
        let mut rng = self.rng.borrow_mut();
        preferred.shuffle(&mut *rng);
        rest.shuffle(&mut *rng);
        preferred.extend(rest);
        preferred
    }

    /// Endorsements from `needed` peers of `org`, trying `queue` in order; returns what it
    /// got, what is left of the queue and why the others failed.
    async fn endorse_group(
        &self,
        org: String,
        needed: usize,
        mut queue: VecDeque<Endorser>,
        signed: &SignedProposal,
        reference: &[u8],
    ) -> (
        String,
        Vec<ProposalResponse>,
        VecDeque<Endorser>,
        Vec<String>,
    ) {
        let mut responses = Vec::new();
        let mut failures = Vec::new();
        while responses.len() < needed {
            let Some(endorser) = queue.pop_front() else {
                break;
            };
            match self.endorse_on(&endorser, signed).await {
                Ok(response) if response.payload == reference => responses.push(response),
                Ok(_) => failures.push(format!(
                    "{}: ProposalResponsePayloads do not match",
                    endorser.endpoint
                )),
                Err(why) => failures.push(why),
            }
        }
        (org, responses, queue, failures)
    }

    /// Submit: the signed transaction to the ordering service.
    pub async fn submit(
        &self,
        channel_id: &str,
        envelope: crate::fabric::types::Envelope,
    ) -> Result<(), GatewayError> {
        let registry = self.registry(channel_id, "").await?;
        let mut orderers = registry.orderers.clone();
        if orderers.is_empty() {
            return Err(error(
                GatewayCode::Unavailable,
                "no orderer nodes available",
                Vec::new(),
            ));
        }
        orderers.shuffle(&mut *self.rng.borrow_mut());
        let mut details = Vec::new();
        for orderer in orderers {
            if self.log.is_on() {
                let tx_id = crate::fabric::orderer::node::envelope_header(&envelope)
                    .map(|header| header.tx_id)
                    .unwrap_or_default();
                let node = orderer.split(':').next().unwrap_or_default().to_string();
                self.log.write(LogLine::Broadcast {
                    tx_id,
                    orderer: node,
                });
            }
            let call = self
                .rpc
                .call(&orderer, self.config.broadcast_timeout, |id| {
                    Wire::Broadcast {
                        id,
                        envelope: envelope.clone(),
                    }
                })
                .await;
            match call {
                Ok(Wire::BroadcastReply { response, .. }) if response.status == Status::Success => {
                    return Ok(())
                }
                Ok(Wire::BroadcastReply { response, .. }) if is_client_error(response.status) => {
                    return Err(error(
                        GatewayCode::Aborted,
                        &format!(
                            "received unsuccessful response from orderer: status={}, info={}",
                            response.status, response.info
                        ),
                        details,
                    ));
                }
                Ok(Wire::BroadcastReply { response, .. }) => {
                    details.push(format!("{orderer}: {} {}", response.status, response.info));
                }
                Ok(_) => details.push(format!("{orderer}: unexpected reply")),
                Err(e) => {
                    if matches!(e, CallError::Unavailable(_)) {
                        self.rpc.disconnect(&orderer);
                    }
                    details.push(e.to_string());
                }
            }
        }
        Err(error(
            GatewayCode::Unavailable,
            "no orderers could successfully process transaction",
            details,
        ))
    }

    /// Evaluate: a query's answer from one peer.
    pub async fn evaluate(&self, signed: SignedProposal) -> Result<Response, GatewayError> {
        let (_, registry) = self.proposal_and_registry(&signed).await?;
        let mut candidates = self.ranked(&registry, Some(&self.msp_id), false, true);
        let others: Vec<Endorser> = self
            .ranked(&registry, None, false, false)
            .into_iter()
            .filter(|e| e.msp_id != self.msp_id)
            .collect();
        candidates.extend(others);
        let mut details = Vec::new();
        for endorser in candidates {
            let call = if endorser.local {
                let (reply, answer) = oneshot::channel();
                let _ = self.local.send(Local::Endorse(signed.clone(), reply));
                answer
                    .await
                    .map_err(|_| "the local endorser stopped".to_string())
            } else {
                match self
                    .rpc
                    .call(&endorser.endpoint, self.config.endorsement_timeout, |id| {
                        Wire::Endorse {
                            id,
                            proposal: signed.clone(),
                        }
                    })
                    .await
                {
                    Ok(Wire::EndorseReply { response, .. }) => Ok(response),
                    Ok(_) => Err(format!("{}: unexpected reply", endorser.endpoint)),
                    Err(e) => {
                        self.rpc.disconnect(&endorser.endpoint);
                        Err(e.to_string())
                    }
                }
            };
            match call {
                // A chaincode's answer, success or error, is returned as it is.
                Ok(response) if (200..400).contains(&response.response.status) => {
                    return Ok(response.response)
                }
                Ok(response) => {
                    return Err(error(
                        GatewayCode::Unknown,
                        &format!(
                            "evaluate call to endorser returned error: chaincode response {}, {}",
                            response.response.status, response.response.message
                        ),
                        details,
                    ))
                }
                Err(why) => details.push(why),
            }
        }
        Err(error(
            GatewayCode::Aborted,
            "failed to evaluate transaction, see attached details for more info",
            details,
        ))
    }
}

/// 4xx statuses abort a submit (submit.go).
fn is_client_error(status: Status) -> bool {
    (400..500).contains(&status.code())
}
