//! A deterministic test network driven only through the public API, like fabric-samples'
//! test-network: an ordering organization with one ordering node, application
//! organizations each with peers and a client, one channel joined by every peer, and the
//! asset chaincode installed, approved by every organization and committed. The ordering
//! node here is a plain block maker (no Raft): enough for tests and benches of the peer's
//! data plane, and the reference for how the node programs call this library.

use super::blocks::{new_block, sign_block};
use super::broadcast::{process_config_update, validate_broadcast, BroadcastError, BroadcastKind};
use super::config::FabricConfig;
use super::configtx::{genesis_block, ChannelBundle};
use super::crypto::{NodeOu, SigningIdentity};
use super::cryptogen::OrgCrypto;
use super::invocation::{AssetCall, Invocation};
use super::ledger::CommitSummary;
use super::lifecycle::ChaincodeDefinition;
use super::peer_state::{PeerError, PeerState};
use super::txbuild::{
    config_update_envelope, signed_proposal, transaction_envelope, ClientProposal,
};
use super::types::{encode, Block, ConfigChange, Endpoint, Envelope, Hash, ProposalResponse};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

pub const CHANNEL_ID: &str = "channel1";
pub const CHAINCODE: &str = "assets";
pub const CHAINCODE_VERSION: &str = "1.0";

/// The ordering side of the test network: one node, cutting the blocks it is given.
pub struct TestOrderer {
    pub identity: SigningIdentity,
    pub bundle: ChannelBundle,
    pub next_number: u64,
    pub previous_hash: Hash,
    pub last_config: u64,
}

impl TestOrderer {
    /// Orders envelopes (already encoded) into the next signed block.
    pub fn cut(&mut self, envelopes: Vec<Vec<u8>>) -> Block {
        self.cut_block(envelopes, false)
    }

    fn cut_block(&mut self, envelopes: Vec<Vec<u8>>, is_config: bool) -> Block {
        let number = self.next_number;
        if is_config {
            self.last_config = number;
        }
        let mut block = new_block(number, self.previous_hash, envelopes);
        sign_block(&mut block, &self.identity, self.last_config);
        self.next_number += 1;
        self.previous_hash = block.hash();
        block
    }

    /// Validates a broadcast CONFIG_UPDATE and orders its CONFIG transaction alone.
    pub fn order_config_update(
        &mut self,
        update: &Envelope,
        now: Duration,
    ) -> Result<Block, BroadcastError> {
        let bytes = encode(update);
        if validate_broadcast(&self.bundle, &bytes)? != BroadcastKind::ConfigUpdate {
            return Err(BroadcastError::BadRequest("not a config update".into()));
        }
        let accepted = process_config_update(&self.bundle, &bytes, &self.identity, now)?;
        self.bundle = ChannelBundle::new(accepted.config)
            .map_err(|e| BroadcastError::BadRequest(e.to_string()))?;
        Ok(self.cut_block(vec![accepted.config_envelope], true))
    }
}

pub struct TestNetwork {
    pub orderer_org: OrgCrypto,
    pub orderer: TestOrderer,
    pub orgs: Vec<OrgCrypto>,
    /// Peers in organization order, `peers_per_org` each.
    pub peers: Vec<PeerState>,
    pub peers_per_org: usize,
    /// One client (NodeOU client) per organization.
    pub clients: Vec<SigningIdentity>,
    pub genesis_block: Block,
    pub rng: ChaCha8Rng,
    /// Simulated time, advanced by one millisecond per proposal.
    pub now: Duration,
}

impl TestNetwork {
    /// A channel of `organizations` organizations with `peers_per_org` peers each, every
    /// peer joined, the asset chaincode installed, approved and committed.
    pub fn new(seed: u64, organizations: usize, peers_per_org: usize) -> TestNetwork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).expect("CA");
        let orderer_identity = orderer_org
            .enroll("orderer0.example.com", NodeOu::Orderer, &mut rng)
            .expect("enroll");
        let mut orgs = Vec::new();
        let mut peers = Vec::new();
        let mut clients = Vec::new();
        for index in 1..=organizations {
            let mut org = OrgCrypto::generate(&format!("Org{index}MSP"), &mut rng).expect("CA");
            for peer in 0..peers_per_org {
                let name = format!("peer{peer}.org{index}.example.com");
                let identity = org.enroll(&name, NodeOu::Peer, &mut rng).expect("enroll");
                peers.push(PeerState::new(identity, &org.msp_definition()).expect("local MSP"));
            }
            let client = format!("user1.org{index}.example.com");
            clients.push(
                org.enroll(&client, NodeOu::Client, &mut rng)
                    .expect("enroll"),
            );
            orgs.push(org);
        }
        let endpoint = Endpoint {
            host: "orderer0.example.com".into(),
            port: 7050,
        };
        let config = orderer_org.channel_config(
            CHANNEL_ID,
            &[(endpoint, &orderer_identity)],
            &orgs.iter().collect::<Vec<_>>(),
            &FabricConfig::default().ordering,
        );
        let genesis = genesis_block(&config);
        let orderer = TestOrderer {
            identity: orderer_identity,
            bundle: ChannelBundle::new(config).expect("channel config"),
            next_number: 1,
            previous_hash: genesis.hash(),
            last_config: 0,
        };
        let mut network = TestNetwork {
            orderer_org,
            orderer,
            orgs,
            peers,
            peers_per_org,
            clients,
            genesis_block: genesis,
            rng,
            now: Duration::ZERO,
        };
        network.join_install_and_define();
        network
    }

    /// The organization index of a peer.
    pub fn org_of(&self, peer: usize) -> usize {
        peer / self.peers_per_org
    }

    /// The first peer of each organization.
    pub fn one_peer_per_org(&self) -> Vec<usize> {
        (0..self.orgs.len())
            .map(|org| org * self.peers_per_org)
            .collect()
    }

    fn join_install_and_define(&mut self) {
        for peer in 0..self.peers.len() {
            let org = self.org_of(peer);
            for invocation in [
                Invocation::JoinChain {
                    genesis_block: Box::new(self.genesis_block.clone()),
                },
                Invocation::InstallChaincode {
                    name: CHAINCODE.into(),
                    version: CHAINCODE_VERSION.into(),
                },
            ] {
                let proposal = self.propose_as(Signer::Admin(org), "", &invocation);
                let response = self.peers[peer].process_proposal(&proposal.signed);
                assert_eq!(
                    response.response.status, 200,
                    "{}",
                    response.response.message
                );
            }
        }
        let definition = ChaincodeDefinition {
            name: CHAINCODE.into(),
            version: CHAINCODE_VERSION.into(),
            sequence: 1,
            endorsement_policy: Default::default(),
        };
        let approvals = (0..self.orgs.len())
            .map(|org| {
                let invocation = Invocation::ApproveChaincodeDefinitionForMyOrg(definition.clone());
                let proposal = self.propose_as(Signer::Admin(org), CHANNEL_ID, &invocation);
                let peer = org * self.peers_per_org;
                let responses = self.endorse(&proposal, &[peer]);
                self.envelope(Signer::Admin(org), &proposal, &responses)
            })
            .collect();
        self.order_and_commit(approvals).expect("approvals commit");
        let invocation = Invocation::CommitChaincodeDefinition(definition);
        let proposal = self.propose_as(Signer::Admin(0), CHANNEL_ID, &invocation);
        let responses = self.endorse(&proposal, &self.one_peer_per_org());
        let commit = self.envelope(Signer::Admin(0), &proposal, &responses);
        self.order_and_commit(vec![commit])
            .expect("definition commit");
    }

    /// A signed proposal on the channel by `signer`.
    pub fn propose_as(
        &mut self,
        signer: Signer,
        channel_id: &str,
        invocation: &Invocation,
    ) -> ClientProposal {
        self.now += Duration::from_millis(1);
        let identity = signing_identity(&self.orgs, &self.clients, &self.orderer_org, signer);
        signed_proposal(identity, channel_id, invocation, self.now, &mut self.rng)
    }

    pub fn signer(&self, signer: Signer) -> &SigningIdentity {
        signing_identity(&self.orgs, &self.clients, &self.orderer_org, signer)
    }

    /// Sends a proposal to each of `peers`.
    pub fn endorse(&mut self, proposal: &ClientProposal, peers: &[usize]) -> Vec<ProposalResponse> {
        peers
            .iter()
            .map(|&peer| self.peers[peer].process_proposal(&proposal.signed))
            .collect()
    }

    /// The transaction envelope (encoded) from endorsed responses.
    pub fn envelope(
        &self,
        signer: Signer,
        proposal: &ClientProposal,
        responses: &[ProposalResponse],
    ) -> Vec<u8> {
        let envelope = transaction_envelope(self.signer(signer), &proposal.proposal, responses)
            .expect("responses assemble");
        encode(&envelope)
    }

    /// An asset call by organization `org`'s client, endorsed by one peer of every
    /// organization: the encoded envelope and its transaction ID.
    pub fn asset_transaction(&mut self, org: usize, call: AssetCall) -> (Vec<u8>, String) {
        let invocation = Invocation::Chaincode {
            name: CHAINCODE.into(),
            call,
        };
        let proposal = self.propose_as(Signer::Client(org), CHANNEL_ID, &invocation);
        let responses = self.endorse(&proposal, &self.one_peer_per_org());
        let envelope = self.envelope(Signer::Client(org), &proposal, &responses);
        (envelope, proposal.tx_id().to_string())
    }

    /// A CONFIG_UPDATE of `channel_id` setting `msp_id`'s anchor peers against config
    /// `base_sequence`, signed and submitted by `signer`.
    pub fn anchor_peers_update(
        &mut self,
        signer: Signer,
        channel_id: &str,
        msp_id: &str,
        anchor_peers: Vec<Endpoint>,
        base_sequence: u64,
    ) -> Envelope {
        let identity = signing_identity(&self.orgs, &self.clients, &self.orderer_org, signer);
        let change = ConfigChange::SetAnchorPeers {
            msp_id: msp_id.into(),
            anchor_peers,
        };
        let admins = [identity];
        config_update_envelope(
            identity,
            &admins,
            channel_id,
            base_sequence,
            change,
            self.now,
            &mut self.rng,
        )
    }

    /// Orders envelopes into a block and commits it on every peer.
    pub fn order_and_commit(
        &mut self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<CommitSummary>, PeerError> {
        let block = self.orderer.cut(envelopes);
        self.commit_everywhere(&block)
    }

    pub fn commit_everywhere(&mut self, block: &Block) -> Result<Vec<CommitSummary>, PeerError> {
        self.peers
            .iter_mut()
            .map(|peer| peer.commit(CHANNEL_ID, block.clone()))
            .collect()
    }
}

fn signing_identity<'a>(
    orgs: &'a [OrgCrypto],
    clients: &'a [SigningIdentity],
    orderer_org: &'a OrgCrypto,
    signer: Signer,
) -> &'a SigningIdentity {
    match signer {
        Signer::Admin(org) => &orgs[org].admin,
        Signer::Client(org) => &clients[org],
        Signer::OrdererAdmin => &orderer_org.admin,
    }
}

/// A CreateAsset call with the sample's blue asset of size 5 and value 300
/// (fabric-samples asset-transfer-basic InitLedger's asset1).
pub fn create_asset(id: &str, owner: &str) -> AssetCall {
    AssetCall::CreateAsset {
        id: id.into(),
        color: "blue".into(),
        size: 5,
        owner: owner.into(),
        appraised_value: 300,
        notes: String::new(),
    }
}

/// Who signs a proposal in the test network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The admin of application organization `n` (0-based).
    Admin(usize),
    /// The client of application organization `n`.
    Client(usize),
    /// The ordering organization's admin.
    OrdererAdmin,
}
