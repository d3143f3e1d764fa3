//! The endorser: every request a client or console sends a peer is a signed proposal
//! (F core/endorser/endorser.go), answered with a proposal response.
//!
//! Checks, in Fabric's order (endorser.go preProcess, ProcessProposal): the proposal
//! decodes, is an endorser transaction with a correctly computed transaction ID; its creator
//! validates and signed it, with the channel's MSPs for a channel proposal or the peer's
//! local MSP for a channel-less system call; the channel is joined; the transaction ID is
//! not in the ledger yet. Then the system chaincode or application chaincode runs:
//! - `cscc` JoinChain (local MSP Admins), GetChannels (local MSP members);
//! - `qscc` GetChainInfo, GetBlockByNumber (application Readers of the named channel);
//! - `_lifecycle` InstallChaincode and QueryInstalledChaincodes (local MSP Admins),
//!   ApproveChaincodeDefinitionForMyOrg (local MSP Admins), CommitChaincodeDefinition and
//!   QueryChaincodeDefinition (application Writers); see lifecycle.rs;
//! - an application chaincode (application Writers, F core/aclmgmt peer/Propose): it must
//!   be defined on the channel and installed on this peer at the defined version.
//!
//! Every proposal on a channel must pass the channel's application Writers policy
//! (policy.rs): ordering organization members can broadcast but not propose.
//!
//! ACLs are Fabric's defaults (F core/aclmgmt/defaultaclprovider.go). A failure answers
//! status 500 with Fabric's message and no endorsement; a chaincode error (status 400 or
//! more) is not endorsed either; channel-less calls succeed unendorsed, as in Fabric.
//! Endorsements sign `Endorsement::signed_bytes(ProposalResponsePayload)` with the peer's
//! identity.

use super::chaincode::{self, STATUS_ERROR};
use super::crypto::SerializedIdentity;
use super::invocation::{Invocation, CSCC, LIFECYCLE, QSCC};
use super::ledger::Ledger;
use super::lifecycle::{self, committed_definition};
use super::msp::Identity;
use super::peer_state::PeerState;
use super::policy::check_application_writers;
use super::state::TxSimulator;
use super::types::{
    compute_tx_id, decode, encode, Endorsement, Header, HeaderType, Proposal, ProposalResponse,
    ProposalResponsePayload, ReadWriteSet, Response, SignedProposal,
};
use super::validator::proposal_hash;

/// Not found, as `_lifecycle` answers for an undefined chaincode.
pub const STATUS_NOT_FOUND: u32 = 404;

/// A proposal answer with no endorsement: the request failed with `status`.
pub fn failure(status: u32, message: impl Into<String>) -> ProposalResponse {
    ProposalResponse {
        payload: Vec::new(),
        endorsement: None,
        response: Response {
            status,
            message: message.into(),
            payload: Vec::new(),
        },
    }
}

fn unendorsed(payload: Vec<u8>) -> ProposalResponse {
    ProposalResponse {
        payload: Vec::new(),
        endorsement: None,
        response: chaincode::success(payload),
    }
}

/// An error that ends proposal processing with status 500.
struct Refusal(String);

impl<T: Into<String>> From<T> for Refusal {
    fn from(message: T) -> Refusal {
        Refusal(message.into())
    }
}

impl PeerState {
    /// Processes a signed proposal; never fails, errors are in the response.
    pub fn process_proposal(&mut self, signed: &SignedProposal) -> ProposalResponse {
        match self.try_process(signed) {
            Ok(response) => response,
            Err(Refusal(message)) => failure(STATUS_ERROR, message),
        }
    }

    fn try_process(&mut self, signed: &SignedProposal) -> Result<ProposalResponse, Refusal> {
        let proposal: Proposal = decode(&signed.proposal_bytes)
            .map_err(|e| format!("failed to unpack proposal: {e}"))?;
        let header = &proposal.header;
        if header.header_type != HeaderType::EndorserTransaction {
            return Err("invalid header type: proposals are endorser transactions".into());
        }
        let expected_tx_id = compute_tx_id(&header.nonce, &header.creator);
        if header.tx_id != expected_tx_id {
            return Err(format!(
                "invalid txid. got [{}], expected [{expected_tx_id}]",
                header.tx_id
            )
            .into());
        }
        let invocation = Invocation::parse(&proposal.chaincode, &proposal.function, &proposal.args)
            .map_err(|e| e.to_string())?;
        let access_denied = |e: &dyn std::fmt::Display| format!("access denied: {e}");
        if header.channel_id.is_empty() {
            let creator = self
                .local_msp
                .verify(&header.creator, &signed.proposal_bytes, &signed.signature)
                .map_err(|e| access_denied(&e))?;
            return self.channel_less(&header.creator, &creator, invocation);
        }
        let ledger = self
            .ledgers
            .get(&header.channel_id)
            .ok_or_else(|| format!("channel '{}' not found", header.channel_id))?;
        let bundle = ledger.bundle();
        let creator = check_application_writers(
            bundle.msps(),
            |msp_id| bundle.is_application_org(msp_id),
            &header.creator,
            Some((&signed.proposal_bytes, &signed.signature)),
        )
        .map_err(|e| access_denied(&e))?;
        if ledger.transaction(&header.tx_id).is_some() {
            return Err(format!(
                "duplicate transaction found [{}]. Creator [{}]",
                header.tx_id, creator.certificate.common_name
            )
            .into());
        }
        self.on_channel(ledger, header, invocation)
    }

    /// Calls with no channel in the header: validated against the local MSP.
    fn channel_less(
        &mut self,
        serialized_creator: &SerializedIdentity,
        creator: &Identity,
        invocation: Invocation,
    ) -> Result<ProposalResponse, Refusal> {
        match invocation {
            Invocation::JoinChain { genesis_block } => {
                require_local_admin(creator, "JoinChain")?;
                let ledger = Ledger::from_genesis(*genesis_block)
                    .map_err(|e| format!("cannot create ledger from genesis block: {e}"))?;
                let channel_id = ledger.channel_id().to_string();
                if self.ledgers.contains_key(&channel_id) {
                    return Err(format!(
                        "cannot create ledger from genesis block: ledger [{channel_id}] already exists with state [ACTIVE]"
                    )
                    .into());
                }
                self.ledgers.insert(channel_id, ledger);
                Ok(unendorsed(Vec::new()))
            }
            Invocation::GetChannels => {
                let channels: Vec<&str> = self.channels().collect();
                Ok(unendorsed(encode(&channels)))
            }
            Invocation::GetChainInfo { channel_id } => {
                let ledger = self.readable_ledger(&channel_id, serialized_creator)?;
                Ok(unendorsed(encode(&ledger.chain_info())))
            }
            Invocation::GetBlockByNumber { channel_id, number } => {
                let ledger = self.readable_ledger(&channel_id, serialized_creator)?;
                let block = ledger.block(number).ok_or_else(|| {
                    format!("block number {number} not found in channel {channel_id}")
                })?;
                Ok(unendorsed(encode(block)))
            }
            Invocation::InstallChaincode { name, version } => {
                require_local_admin(creator, "InstallChaincode")?;
                if name.is_empty() || name.starts_with('_') || [CSCC, QSCC].contains(&name.as_str())
                {
                    return Err(format!("chaincode name '{name}' is reserved or empty").into());
                }
                let label = format!("{name}_{version}");
                self.installed.insert(name, version);
                Ok(unendorsed(label.into_bytes()))
            }
            Invocation::QueryInstalledChaincodes => {
                require_local_admin(creator, "QueryInstalledChaincodes")?;
                Ok(unendorsed(encode(&self.installed)))
            }
            other => Err(format!(
                "{} needs a channel in the proposal header",
                other.to_parts().1
            )
            .into()),
        }
    }

    /// The ledger of `channel_id` if `creator` passes its application Readers policy.
    fn readable_ledger(
        &self,
        channel_id: &str,
        creator: &SerializedIdentity,
    ) -> Result<&Ledger, Refusal> {
        let ledger = self
            .ledgers
            .get(channel_id)
            .ok_or_else(|| format!("channel '{channel_id}' not found"))?;
        let bundle = ledger.bundle();
        let is_application_org = |msp_id: &str| bundle.is_application_org(msp_id);
        check_application_writers(bundle.msps(), is_application_org, creator, None)
            .map_err(|e| format!("access denied: not a reader of channel {channel_id}: {e}"))?;
        Ok(ledger)
    }

    /// Calls on a joined channel; the creator already passed the application Writers policy.
    fn on_channel(
        &self,
        ledger: &Ledger,
        header: &Header,
        invocation: Invocation,
    ) -> Result<ProposalResponse, Refusal> {
        let state = ledger.state();
        match invocation {
            Invocation::Chaincode { name, call } => {
                let definition = committed_definition(state, &name).ok_or_else(|| {
                    format!(
                        "make sure the chaincode {name} has been successfully defined on channel {} and try again",
                        ledger.channel_id()
                    )
                })?;
                if self.installed.get(&name) != Some(&definition.version) {
                    return Err(format!(
                        "chaincode {name} version {} is not installed on this peer",
                        definition.version
                    )
                    .into());
                }
                let mut simulator = TxSimulator::new(state, &name);
                let response = chaincode::execute(&call, &mut simulator);
                Ok(self.endorse(header, &name, simulator.into_results(), response))
            }
            Invocation::ApproveChaincodeDefinitionForMyOrg(definition) => {
                let local = self.local_msp.validate(&header.creator).ok();
                if !local.is_some_and(|identity| identity.is_admin) {
                    return Err(denied_local_admin("ApproveChaincodeDefinitionForMyOrg").into());
                }
                let mut simulator = TxSimulator::new(state, LIFECYCLE);
                let response = match lifecycle::approve(&mut simulator, self.msp_id(), &definition)
                {
                    Ok(()) => chaincode::success(Vec::new()),
                    Err(message) => chaincode::error(message),
                };
                Ok(self.endorse(header, LIFECYCLE, simulator.into_results(), response))
            }
            Invocation::CommitChaincodeDefinition(definition) => {
                let mut simulator = TxSimulator::new(state, LIFECYCLE);
                let organizations = ledger.config().application.keys();
                let response = match lifecycle::commit(
                    &mut simulator,
                    self.msp_id(),
                    organizations,
                    &definition,
                ) {
                    Ok(()) => chaincode::success(Vec::new()),
                    Err(message) => chaincode::error(message),
                };
                Ok(self.endorse(header, LIFECYCLE, simulator.into_results(), response))
            }
            Invocation::QueryChaincodeDefinition { name } => {
                let response = match committed_definition(state, &name) {
                    Some(definition) => chaincode::success(encode(&definition)),
                    None => Response {
                        status: STATUS_NOT_FOUND,
                        message: format!("namespace {name} is not defined"),
                        payload: Vec::new(),
                    },
                };
                Ok(self.endorse(header, LIFECYCLE, ReadWriteSet::default(), response))
            }
            other => Err(format!(
                "{}.{} is a channel-less call: leave the proposal's channel empty",
                other.to_parts().0,
                other.to_parts().1
            )
            .into()),
        }
    }

    fn endorse(
        &self,
        header: &Header,
        chaincode: &str,
        results: ReadWriteSet,
        response: Response,
    ) -> ProposalResponse {
        if response.status >= 400 {
            return ProposalResponse {
                payload: Vec::new(),
                endorsement: None,
                response,
            };
        }
        let payload = encode(&ProposalResponsePayload {
            proposal_hash: proposal_hash(header),
            chaincode: chaincode.to_string(),
            results,
            response: response.clone(),
        });
        let endorser = self.identity.serialized();
        let signature = self
            .identity
            .sign(&Endorsement::signed_bytes(&payload, &endorser));
        ProposalResponse {
            payload,
            endorsement: Some(Endorsement {
                endorser,
                signature,
            }),
            response,
        }
    }
}

fn denied_local_admin(function: &str) -> String {
    format!("access denied: {function} needs an admin of the peer's local MSP")
}

fn require_local_admin(creator: &Identity, function: &str) -> Result<(), Refusal> {
    if creator.is_admin {
        Ok(())
    } else {
        Err(denied_local_admin(function).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::crypto::NodeOu;
    use crate::fabric::invocation::AssetCall;
    use crate::fabric::ledger::ChainInfo;
    use crate::fabric::lifecycle::ChaincodeDefinition;
    use crate::fabric::testnet::{create_asset, Signer, TestNetwork, CHAINCODE, CHANNEL_ID};
    use crate::fabric::types::Block;

    fn network() -> TestNetwork {
        TestNetwork::new(51, 2, 2)
    }

    fn ask(
        network: &mut TestNetwork,
        peer: usize,
        signer: Signer,
        channel_id: &str,
        invocation: Invocation,
    ) -> ProposalResponse {
        let proposal = network.propose_as(signer, channel_id, &invocation);
        network.peers[peer].process_proposal(&proposal.signed)
    }

    fn assets(call: AssetCall) -> Invocation {
        Invocation::Chaincode {
            name: CHAINCODE.into(),
            call,
        }
    }

    fn create(id: &str) -> Invocation {
        assets(create_asset(id, "Brad"))
    }

    #[test]
    fn peers_of_both_orgs_endorse_the_same_payload_with_their_own_identity() {
        let mut network = network();
        let proposal = network.propose_as(Signer::Client(1), CHANNEL_ID, &create("a1"));
        let responses = network.endorse(&proposal, &[0, 1, 2, 3]);
        for (peer, response) in responses.iter().enumerate() {
            assert_eq!(response.response.status, 200);
            assert_eq!(response.payload, responses[0].payload);
            let endorsement = response.endorsement.as_ref().unwrap();
            assert_eq!(
                endorsement.endorser,
                network.peers[peer].identity().serialized()
            );
        }
        let payload: ProposalResponsePayload = decode(&responses[0].payload).unwrap();
        assert_eq!(
            payload.proposal_hash,
            proposal_hash(&proposal.proposal.header)
        );
        assert_eq!(payload.results.writes.len(), 1);
    }

    #[test]
    fn chaincode_errors_and_bad_requests_are_not_endorsed() {
        let mut network = network();
        let (envelope, tx_id) = network.asset_transaction(
            0,
            AssetCall::CreateAsset {
                id: "a1".into(),
                color: "red".into(),
                size: 1,
                owner: "Brad".into(),
                appraised_value: 10,
                notes: String::new(),
            },
        );
        network.order_and_commit(vec![envelope]).unwrap();
        let exists = ask(&mut network, 0, Signer::Client(0), CHANNEL_ID, create("a1"));
        assert_eq!(exists.response.status, 500);
        assert_eq!(exists.response.message, "the asset a1 already exists");
        assert!(exists.endorsement.is_none());
        let read = ask(
            &mut network,
            2,
            Signer::Client(1),
            CHANNEL_ID,
            assets(AssetCall::ReadAsset { id: "a1".into() }),
        );
        assert_eq!(read.response.status, 200);
        assert!(read.endorsement.is_some());

        let undefined = Invocation::Chaincode {
            name: "other".into(),
            call: AssetCall::ReadAsset { id: "a1".into() },
        };
        let response = ask(&mut network, 0, Signer::Client(0), CHANNEL_ID, undefined);
        assert!(
            response.response.message.contains("successfully defined"),
            "{}",
            response.response.message
        );
        let response = ask(
            &mut network,
            0,
            Signer::Client(0),
            "nochannel",
            create("a2"),
        );
        assert_eq!(response.response.message, "channel 'nochannel' not found");
        let refused = ask(
            &mut network,
            0,
            Signer::OrdererAdmin,
            CHANNEL_ID,
            create("a2"),
        );
        let message = refused.response.message;
        assert!(
            message.contains("not an application organization"),
            "{message}"
        );

        // A tampered signature, a wrong transaction ID, a replayed transaction ID.
        let mut proposal = network.propose_as(Signer::Client(0), CHANNEL_ID, &create("a2"));
        proposal.signed.signature = network.clients[1].sign(&proposal.signed.proposal_bytes);
        let response = network.peers[0].process_proposal(&proposal.signed);
        assert!(
            response.response.message.starts_with("access denied"),
            "{}",
            response.response.message
        );
        let mut tampered = proposal.proposal.clone();
        tampered.header.tx_id = tx_id.clone();
        let bytes = encode(&tampered);
        let signed = SignedProposal {
            signature: network.clients[0].sign(&bytes),
            proposal_bytes: bytes,
        };
        let response = network.peers[0].process_proposal(&signed);
        assert!(
            response.response.message.starts_with("invalid txid"),
            "{}",
            response.response.message
        );
        let committed_proposal = network.propose_as(Signer::Client(0), CHANNEL_ID, &create("a3"));
        let header = committed_proposal.proposal.header.clone();
        let mut replay = committed_proposal.proposal.clone();
        replay.header.nonce = header.nonce.clone();
        let bytes = encode(&replay);
        let signed = SignedProposal {
            signature: network.clients[0].sign(&bytes),
            proposal_bytes: bytes,
        };
        let responses = network.endorse(&committed_proposal, &[0, 2]);
        let envelope = network.envelope(Signer::Client(0), &committed_proposal, &responses);
        network.order_and_commit(vec![envelope]).unwrap();
        let response = network.peers[0].process_proposal(&signed);
        assert!(
            response
                .response
                .message
                .starts_with("duplicate transaction found"),
            "{}",
            response.response.message
        );
    }

    #[test]
    fn join_and_install_need_a_local_admin() {
        let mut network = network();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let identity = network.orgs[0]
            .enroll("peer9", NodeOu::Peer, &mut rng)
            .unwrap();
        let fresh = PeerState::new(identity, &network.orgs[0].msp_definition()).unwrap();
        network.peers.push(fresh);
        let peer = network.peers.len() - 1;
        let join_invocation = Invocation::JoinChain {
            genesis_block: Box::new(network.genesis_block.clone()),
        };
        for signer in [Signer::Client(0), Signer::Admin(1), Signer::OrdererAdmin] {
            let response = ask(&mut network, peer, signer, "", join_invocation.clone());
            assert!(
                response.response.message.starts_with("access denied"),
                "{signer:?}: {}",
                response.response.message
            );
        }
        assert_eq!(network.peers[peer].channels().count(), 0);
        let response = ask(
            &mut network,
            peer,
            Signer::Admin(0),
            "",
            join_invocation.clone(),
        );
        assert_eq!(response.response.status, 200);
        assert!(response.endorsement.is_none());
        let again = ask(&mut network, peer, Signer::Admin(0), "", join_invocation);
        assert!(again.response.message.contains("already exists"));

        // Joined at the genesis block: the chaincode is not defined there yet, and once the
        // peer caught up it is still not installed here.
        let blocks: Vec<Block> =
            network.peers[0].ledger(CHANNEL_ID).unwrap().blocks()[1..].to_vec();
        for block in blocks {
            network.peers[peer].commit(CHANNEL_ID, block).unwrap();
        }
        let invoke = |network: &mut TestNetwork| {
            ask(network, peer, Signer::Client(0), CHANNEL_ID, create("a1"))
        };
        let response = invoke(&mut network);
        assert!(
            response.response.message.contains("is not installed"),
            "{}",
            response.response.message
        );
        let install = Invocation::InstallChaincode {
            name: CHAINCODE.into(),
            version: "1.0".into(),
        };
        let response = ask(&mut network, peer, Signer::Client(0), "", install.clone());
        assert!(response.response.message.starts_with("access denied"));
        assert_eq!(
            ask(&mut network, peer, Signer::Admin(0), "", install)
                .response
                .status,
            200
        );
        assert!(invoke(&mut network).endorsement.is_some());
        let installed = ask(
            &mut network,
            peer,
            Signer::Admin(0),
            "",
            Invocation::QueryInstalledChaincodes,
        );
        let installed: std::collections::BTreeMap<String, String> =
            decode(&installed.response.payload).unwrap();
        assert_eq!(installed[CHAINCODE], "1.0");
        let reserved = Invocation::InstallChaincode {
            name: "_lifecycle".into(),
            version: "1".into(),
        };
        assert_eq!(
            ask(&mut network, peer, Signer::Admin(0), "", reserved)
                .response
                .status,
            500
        );
    }

    #[test]
    fn queries_report_channels_chain_info_blocks_and_definitions() {
        let mut network = network();
        let mut payload = |invocation, channel_id: &str| {
            let response = ask(&mut network, 0, Signer::Admin(0), channel_id, invocation);
            assert_eq!(
                response.response.status, 200,
                "{}",
                response.response.message
            );
            response.response.payload
        };
        let channels = payload(Invocation::GetChannels, "");
        let info = payload(
            Invocation::GetChainInfo {
                channel_id: CHANNEL_ID.into(),
            },
            "",
        );
        let genesis = payload(
            Invocation::GetBlockByNumber {
                channel_id: CHANNEL_ID.into(),
                number: 0,
            },
            "",
        );
        let definition = payload(
            Invocation::QueryChaincodeDefinition {
                name: CHAINCODE.into(),
            },
            CHANNEL_ID,
        );
        assert_eq!(decode::<Vec<String>>(&channels).unwrap(), vec![CHANNEL_ID]);
        let info: ChainInfo = decode(&info).unwrap();
        let ledger = network.peers[0].ledger(CHANNEL_ID).unwrap();
        assert_eq!(info, ledger.chain_info());
        let previous = ledger.block(info.height - 2).unwrap().hash();
        assert_eq!(info.previous_block_hash, previous);
        let genesis: Block = decode(&genesis).unwrap();
        assert_eq!(genesis.hash(), network.genesis_block.hash());
        assert_eq!(genesis.data, network.genesis_block.data);
        let definition: ChaincodeDefinition = decode(&definition).unwrap();
        assert_eq!(definition.sequence, 1);

        let unknown = || Invocation::QueryChaincodeDefinition { name: "x".into() };
        let refusals = [
            // The local MSP decides channel-less calls: another org's client is refused.
            (
                Signer::Client(1),
                "",
                Invocation::GetChannels,
                500,
                "access denied",
            ),
            (
                Signer::Admin(0),
                "",
                Invocation::GetBlockByNumber {
                    channel_id: CHANNEL_ID.into(),
                    number: 99,
                },
                500,
                "block number 99 not found",
            ),
            (
                Signer::Client(0),
                CHANNEL_ID,
                unknown(),
                STATUS_NOT_FOUND,
                "not defined",
            ),
            (
                Signer::Admin(0),
                CHANNEL_ID,
                Invocation::GetChannels,
                500,
                "channel-less",
            ),
            (Signer::Admin(0), "", unknown(), 500, "needs a channel"),
        ];
        for (signer, channel_id, invocation, status, message) in refusals {
            let response = ask(&mut network, 0, signer, channel_id, invocation).response;
            assert_eq!(response.status, status, "{}", response.message);
            assert!(response.message.contains(message), "{}", response.message);
        }
    }

    #[test]
    fn lifecycle_approvals_need_a_local_admin_and_commits_a_majority() {
        let mut network = TestNetwork::new(52, 3, 1);
        let next = ChaincodeDefinition {
            name: CHAINCODE.into(),
            version: "2.0".into(),
            sequence: 2,
            endorsement_policy: Default::default(),
        };
        let approve = Invocation::ApproveChaincodeDefinitionForMyOrg(next.clone());
        for signer in [Signer::Client(0), Signer::Admin(1)] {
            let response = ask(&mut network, 0, signer, CHANNEL_ID, approve.clone());
            assert!(
                response.response.message.starts_with("access denied"),
                "{signer:?}"
            );
        }
        let proposal = network.propose_as(Signer::Admin(0), CHANNEL_ID, &approve);
        let responses = network.endorse(&proposal, &[0]);
        let envelope = network.envelope(Signer::Admin(0), &proposal, &responses);
        network.order_and_commit(vec![envelope]).unwrap();
        let commit = Invocation::CommitChaincodeDefinition(next);
        // Org1 approved, but one of three is no majority; Org2 did not approve at all.
        let response = ask(
            &mut network,
            0,
            Signer::Client(0),
            CHANNEL_ID,
            commit.clone(),
        );
        assert!(
            response.response.message.contains("2 of 3"),
            "{}",
            response.response.message
        );
        let response = ask(&mut network, 1, Signer::Client(0), CHANNEL_ID, commit);
        assert!(response
            .response
            .message
            .contains("not agreed to by this org"));
    }
}
