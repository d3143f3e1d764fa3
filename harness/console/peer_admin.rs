//! The peer admin channel: what the console does from the browser, not through its REST
//! API (research/console-api.md, "Channel operations from the console"): join a peer to a
//! channel, set anchor peers, install, approve and commit chaincode, read channel heights.
//! Everything is signed with an admin identity from the console's wallet.
//!
//! `PeerAdmin` is the operation set; `GrpcWebPeerAdmin` implements it for hadr's
//! simulated nodes over their grpc-web endpoints (fabric::grpcweb), with Fabric's
//! messages: cscc JoinChain with the genesis block fetched from an ordering node,
//! `_lifecycle` InstallChaincode / ApproveChaincodeDefinitionForMyOrg /
//! CommitChaincodeDefinition (Fabric 2.x, fabric::lifecycle), qscc GetChainInfo, and a
//! SetAnchorPeers config update computed against the latest config block. A real backend
//! can implement the trait with the peer CLI, as the Ansible collection does.

use super::api::Component;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::deliver_wire::Status;
use crate::fabric::grpcweb::{
    BroadcastResponse, DeliverRequest, SeekPosition, BROADCAST_PATH, CONTENT_TYPE, DELIVER_PATH,
    PROCESS_PROPOSAL_PATH,
};
use crate::fabric::invocation::Invocation;
use crate::fabric::ledger::ChainInfo;
use crate::fabric::lifecycle::ChaincodeDefinition;
use crate::fabric::txbuild::{config_update_envelope, signed_proposal, transaction_envelope};
use crate::fabric::types::{
    decode, encode, ApplicationOrg, Block, ChannelConfig, ConfigChange, Endpoint, Envelope,
    Payload, PayloadData, ProposalResponse,
};
use crate::net::http::{HttpClient, HttpError};
use crate::net::BoxFuture;
use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PeerAdminError {
    #[error("{component} has no grpc-web URL")]
    NoGrpcWebUrl { component: String },
    #[error(transparent)]
    Transport(#[from] HttpError),
    #[error("{node} answered HTTP {status}: {info}")]
    Http {
        node: String,
        status: u16,
        info: String,
    },
    #[error("{node} refused the proposal: {status} {message}")]
    ProposalFailed {
        node: String,
        status: u32,
        message: String,
    },
    #[error("the ordering service refused the transaction: {status} {info}")]
    BroadcastFailed { status: u16, info: String },
    #[error("cannot read the answer of {node}: {message}")]
    Decode { node: String, message: String },
    #[error("cannot assemble the transaction: {0}")]
    Assemble(String),
}

/// What the console does on peers and ordering nodes with a wallet identity.
pub trait PeerAdmin: Send + Sync {
    /// cscc JoinChain on `peer`, with the channel's genesis block from `orderer`.
    fn join_channel<'a>(
        &'a self,
        peer: &'a Component,
        orderer: &'a Component,
        channel_id: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// Installs the chaincode package `name`/`version` on `peer`.
    fn install_chaincode<'a>(
        &'a self,
        peer: &'a Component,
        name: &'a str,
        version: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// Approves `definition` for the admin's organization: endorsed by `peer` (of that
    /// organization), ordered through `orderer`.
    fn approve_chaincode<'a>(
        &'a self,
        peer: &'a Component,
        orderer: &'a Component,
        channel_id: &'a str,
        definition: &'a ChaincodeDefinition,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// Commits `definition` (the 2.x "instantiate"): endorsed by `peers` (enough
    /// organizations for the lifecycle's majority), ordered through `orderer`.
    fn commit_chaincode<'a>(
        &'a self,
        peers: &'a [Component],
        orderer: &'a Component,
        channel_id: &'a str,
        definition: &'a ChaincodeDefinition,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// Sets the anchor peers of the admin's organization with a signed config update
    /// against the channel's latest config.
    fn set_anchor_peers<'a>(
        &'a self,
        orderer: &'a Component,
        channel_id: &'a str,
        anchor_peers: &'a [Endpoint],
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// As an ordering service admin: adds an application organization to the channel
    /// (the procedure's "add to consortium and channel" by the ordering service admin), the
    /// update also signed by `co_signers` (the admins of organizations already on it: the
    /// Application group's mod_policy is MAJORITY Admins).
    fn add_organization<'a>(
        &'a self,
        orderer: &'a Component,
        channel_id: &'a str,
        org: &'a ApplicationOrg,
        admin: &'a SigningIdentity,
        co_signers: &'a [SigningIdentity],
    ) -> BoxFuture<'a, Result<(), PeerAdminError>>;

    /// qscc GetChainInfo: the peer's height and tip hash on the channel.
    fn channel_info<'a>(
        &'a self,
        peer: &'a Component,
        channel_id: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<ChainInfo, PeerAdminError>>;
}

/// `PeerAdmin` over the grpc-web endpoints of hadr's nodes.
pub struct GrpcWebPeerAdmin {
    http: HttpClient,
    timeout: Duration,
    /// Proposal timestamps are time since this instant (the substrate's epoch).
    epoch: tokio::time::Instant,
    rng: Mutex<ChaCha8Rng>,
}

impl std::fmt::Debug for GrpcWebPeerAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrpcWebPeerAdmin")
    }
}

/// The config a config block carries (its single CONFIG transaction).
pub fn config_from_block(block: &Block) -> Result<ChannelConfig, String> {
    let [envelope] = block.data.as_slice() else {
        return Err(format!("block {} is not a config block", block.number()));
    };
    let envelope: Envelope = decode(envelope).map_err(|e| e.to_string())?;
    let payload: Payload = decode(&envelope.payload).map_err(|e| e.to_string())?;
    match payload.data {
        PayloadData::Config(config) => Ok(config.config),
        _ => Err(format!("block {} is not a config block", block.number())),
    }
}

impl GrpcWebPeerAdmin {
    /// `seed` drives proposal nonces; `epoch` is when simulated time started.
    pub fn new(
        http: HttpClient,
        timeout: Duration,
        epoch: tokio::time::Instant,
        seed: u64,
    ) -> GrpcWebPeerAdmin {
        GrpcWebPeerAdmin {
            http,
            timeout,
            epoch,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        node: &Component,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, PeerAdminError> {
        let base = node
            .grpcwp_url
            .as_deref()
            .ok_or_else(|| PeerAdminError::NoGrpcWebUrl {
                component: node.id.clone(),
            })?;
        let request = http::Request::post(format!("{}{path}", base.trim_end_matches('/')))
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Bytes::from(encode(body)))
            .map_err(|e| PeerAdminError::Decode {
                node: node.id.clone(),
                message: e.to_string(),
            })?;
        let response = self.http.send(request, self.timeout).await?;
        let status = response.status().as_u16();
        if status != 200 {
            let info = decode::<BroadcastResponse>(response.body())
                .map(|r| r.info)
                .unwrap_or_else(|_| String::from_utf8_lossy(response.body()).into_owned());
            return Err(PeerAdminError::Http {
                node: node.id.clone(),
                status,
                info,
            });
        }
        decode(response.body()).map_err(|e| PeerAdminError::Decode {
            node: node.id.clone(),
            message: e.to_string(),
        })
    }

    fn proposal(
        &self,
        admin: &SigningIdentity,
        channel_id: &str,
        invocation: &Invocation,
    ) -> crate::fabric::txbuild::ClientProposal {
        let mut rng = self.rng.lock().expect("proposal rng");
        signed_proposal(
            admin,
            channel_id,
            invocation,
            self.epoch.elapsed(),
            &mut *rng,
        )
    }

    /// Sends a proposal to `peer`; a response below 200 or from 400 up is a failure.
    async fn endorse(
        &self,
        peer: &Component,
        signed: &crate::fabric::types::SignedProposal,
    ) -> Result<ProposalResponse, PeerAdminError> {
        let response: ProposalResponse = self.post(peer, PROCESS_PROPOSAL_PATH, signed).await?;
        if !(200..400).contains(&response.response.status) {
            return Err(PeerAdminError::ProposalFailed {
                node: peer.id.clone(),
                status: response.response.status,
                message: response.response.message,
            });
        }
        Ok(response)
    }

    async fn broadcast(
        &self,
        orderer: &Component,
        envelope: &Envelope,
    ) -> Result<(), PeerAdminError> {
        let answer: BroadcastResponse = self.post(orderer, BROADCAST_PATH, envelope).await?;
        if answer.status != Status::Success {
            return Err(PeerAdminError::BroadcastFailed {
                status: answer.status.code(),
                info: answer.info,
            });
        }
        Ok(())
    }

    async fn deliver(
        &self,
        orderer: &Component,
        channel_id: &str,
        start: SeekPosition,
        admin: &SigningIdentity,
    ) -> Result<Block, PeerAdminError> {
        self.post(
            orderer,
            DELIVER_PATH,
            &DeliverRequest::signed_at(channel_id, start, admin),
        )
        .await
    }

    /// Endorse on `peers`, assemble, sign and order a lifecycle transaction.
    async fn endorse_and_order(
        &self,
        peers: &[Component],
        orderer: &Component,
        channel_id: &str,
        invocation: Invocation,
        admin: &SigningIdentity,
    ) -> Result<(), PeerAdminError> {
        let proposal = self.proposal(admin, channel_id, &invocation);
        let mut responses = Vec::with_capacity(peers.len());
        for peer in peers {
            responses.push(self.endorse(peer, &proposal.signed).await?);
        }
        let envelope = transaction_envelope(admin, &proposal.proposal, &responses)
            .map_err(|e| PeerAdminError::Assemble(e.to_string()))?;
        self.broadcast(orderer, &envelope).await
    }
}

impl PeerAdmin for GrpcWebPeerAdmin {
    fn join_channel<'a>(
        &'a self,
        peer: &'a Component,
        orderer: &'a Component,
        channel_id: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        Box::pin(async move {
            let genesis = self
                .deliver(orderer, channel_id, SeekPosition::Specified(0), admin)
                .await?;
            let invocation = Invocation::JoinChain {
                genesis_block: Box::new(genesis),
            };
            let proposal = self.proposal(admin, "", &invocation);
            self.endorse(peer, &proposal.signed).await.map(|_| ())
        })
    }

    fn install_chaincode<'a>(
        &'a self,
        peer: &'a Component,
        name: &'a str,
        version: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        Box::pin(async move {
            let invocation = Invocation::InstallChaincode {
                name: name.to_string(),
                version: version.to_string(),
            };
            let proposal = self.proposal(admin, "", &invocation);
            self.endorse(peer, &proposal.signed).await.map(|_| ())
        })
    }

    fn approve_chaincode<'a>(
        &'a self,
        peer: &'a Component,
        orderer: &'a Component,
        channel_id: &'a str,
        definition: &'a ChaincodeDefinition,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        Box::pin(async move {
            let invocation = Invocation::ApproveChaincodeDefinitionForMyOrg(definition.clone());
            self.endorse_and_order(
                std::slice::from_ref(peer),
                orderer,
                channel_id,
                invocation,
                admin,
            )
            .await
        })
    }

    fn commit_chaincode<'a>(
        &'a self,
        peers: &'a [Component],
        orderer: &'a Component,
        channel_id: &'a str,
        definition: &'a ChaincodeDefinition,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        Box::pin(async move {
            let invocation = Invocation::CommitChaincodeDefinition(definition.clone());
            self.endorse_and_order(peers, orderer, channel_id, invocation, admin)
                .await
        })
    }

    fn set_anchor_peers<'a>(
        &'a self,
        orderer: &'a Component,
        channel_id: &'a str,
        anchor_peers: &'a [Endpoint],
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        let change = ConfigChange::SetAnchorPeers {
            msp_id: admin.msp_id.clone(),
            anchor_peers: anchor_peers.to_vec(),
        };
        Box::pin(self.update_config(orderer, channel_id, change, admin, &[]))
    }

    fn add_organization<'a>(
        &'a self,
        orderer: &'a Component,
        channel_id: &'a str,
        org: &'a ApplicationOrg,
        admin: &'a SigningIdentity,
        co_signers: &'a [SigningIdentity],
    ) -> BoxFuture<'a, Result<(), PeerAdminError>> {
        let change = ConfigChange::AddOrganization { org: org.clone() };
        Box::pin(self.update_config(orderer, channel_id, change, admin, co_signers))
    }

    fn channel_info<'a>(
        &'a self,
        peer: &'a Component,
        channel_id: &'a str,
        admin: &'a SigningIdentity,
    ) -> BoxFuture<'a, Result<ChainInfo, PeerAdminError>> {
        Box::pin(async move {
            let invocation = Invocation::GetChainInfo {
                channel_id: channel_id.to_string(),
            };
            self.query(peer, &invocation, admin).await
        })
    }
}

impl GrpcWebPeerAdmin {
    /// Submits `change` as a config update by `admin`, signed by it and `co_signers`,
    /// computed against the latest config block (the newest block names it in its
    /// metadata's last_config).
    async fn update_config(
        &self,
        orderer: &Component,
        channel_id: &str,
        change: ConfigChange,
        admin: &SigningIdentity,
        co_signers: &[SigningIdentity],
    ) -> Result<(), PeerAdminError> {
        let newest = self
            .deliver(orderer, channel_id, SeekPosition::Newest, admin)
            .await?;
        let config_block = if newest.metadata.last_config == newest.number() {
            newest
        } else {
            let number = newest.metadata.last_config;
            self.deliver(orderer, channel_id, SeekPosition::Specified(number), admin)
                .await?
        };
        let config =
            config_from_block(&config_block).map_err(|message| PeerAdminError::Decode {
                node: orderer.id.clone(),
                message,
            })?;
        let envelope = {
            let mut rng = self.rng.lock().expect("proposal rng");
            let signers: Vec<&SigningIdentity> = std::iter::once(admin).chain(co_signers).collect();
            config_update_envelope(
                admin,
                &signers,
                channel_id,
                config.sequence,
                change,
                self.epoch.elapsed(),
                &mut *rng,
            )
        };
        self.broadcast(orderer, &envelope).await
    }

    /// Whether `peer` has the definition of chaincode `name` committed on `channel_id`
    /// (`peer lifecycle chaincode querycommitted`): an error while it has not.
    pub async fn chaincode_committed(
        &self,
        peer: &Component,
        channel_id: &str,
        name: &str,
        signer: &SigningIdentity,
    ) -> Result<(), PeerAdminError> {
        let invocation = Invocation::QueryChaincodeDefinition {
            name: name.to_string(),
        };
        let proposal = self.proposal(signer, channel_id, &invocation);
        self.endorse(peer, &proposal.signed).await.map(|_| ())
    }

    /// Asks `peer` a channel-less system query (qscc names the channel in its arguments:
    /// fabric::endorser) and decodes the answer's payload.
    pub async fn query<T: DeserializeOwned>(
        &self,
        peer: &Component,
        invocation: &Invocation,
        signer: &SigningIdentity,
    ) -> Result<T, PeerAdminError> {
        let proposal = self.proposal(signer, "", invocation);
        let response = self.endorse(peer, &proposal.signed).await?;
        decode(&response.response.payload).map_err(|e| PeerAdminError::Decode {
            node: peer.id.clone(),
            message: e.to_string(),
        })
    }
}
