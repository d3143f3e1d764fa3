//! A peer's ledger for one channel (F core/ledger/kvledger): the block store, the world
//! state, the transaction index and the channel config, and the committer that appends a
//! block after checking it.
//!
//! [`Ledger::commit`] refuses a block (error, ledger unchanged) whose number is not the
//! height, whose previous hash is not the tip's hash, whose data hash does not match its
//! data, that no consenter of the channel signed, whose last-config pointer is wrong, or
//! whose config transaction does not validate; otherwise it validates every transaction
//! (validator.rs), applies the valid ones' writes with version (block, tx), records every
//! code in the block's transactions filter and the transaction index, and stores the block.
//!
//! The genesis block starts the ledger ([`Ledger::from_genesis`]) without any signature
//! check: Fabric's JoinChain trusts the block the peer's admin hands in (F core/scc/cscc
//! configure.go; a genesis block carries no orderer signature).
//!
//! Persistence: the block store is the ledger's durable form, as in Fabric. Every other part
//! (state, index, config) is derived from the blocks and their stored validation codes, and
//! [`Ledger::recover`] rebuilds them by replaying the blocks without validating them again,
//! the way kvledger rebuilds its state database from the block store after a crash. A
//! commit is all or nothing, so a node shell can keep the [`Ledger`] itself across a
//! simulated crash, or only its blocks ([`Ledger::into_blocks`]) on a real disk.

use super::blocks::{verify_block_signature, BlockSignatureError};
use super::configtx::{read_genesis_block, ChannelBundle, ConfigError};
use super::state::WorldState;
use super::types::{Block, ChannelConfig, Hash, HeaderType, PayloadData, ValidationCode, Version};
use super::validator::{
    decode_envelope, response_payload, validate_config_transaction, validate_transactions,
    Committed, TxEffect, ValidatedTx,
};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a transaction is and how it validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    pub block_number: u64,
    pub tx_number: u64,
    pub code: ValidationCode,
}

/// What `peer channel getinfo` prints (common.BlockchainInfo).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    pub height: u64,
    pub current_block_hash: Hash,
    pub previous_block_hash: Hash,
}

/// One transaction of a committed block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTx {
    /// None when the envelope could not be decoded.
    pub tx_id: Option<String>,
    pub code: ValidationCode,
}

/// The outcome of committing a block, for the run history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    pub block_number: u64,
    pub block_hash: Hash,
    pub transactions: Vec<CommittedTx>,
    /// True when the block was a config block: anchor peers, organizations or consenters
    /// may have changed.
    pub config_updated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CommitError {
    #[error("channel {channel_id}: expected block {expected}, got block {found}")]
    WrongNumber {
        channel_id: String,
        expected: u64,
        found: u64,
    },
    #[error("channel {channel_id}: block {number}'s previous hash is not the hash of block {}", number - 1)]
    WrongPreviousHash { channel_id: String, number: u64 },
    #[error("channel {channel_id}: block {number}'s data hash does not match its data")]
    WrongDataHash { channel_id: String, number: u64 },
    #[error(transparent)]
    Signature(#[from] BlockSignatureError),
    #[error(
        "channel {channel_id}: block {number} points at config block {found}, expected {expected}"
    )]
    WrongLastConfig {
        channel_id: String,
        number: u64,
        expected: u64,
        found: u64,
    },
    #[error("channel {channel_id}: config block {number} is invalid: {reason}")]
    InvalidConfigBlock {
        channel_id: String,
        number: u64,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RecoverError {
    #[error("no genesis block")]
    Empty,
    #[error("the genesis block is invalid: {0}")]
    Genesis(ConfigError),
    #[error("stored block {number} is corrupt: {reason}")]
    Corrupt { number: u64, reason: String },
}

/// One channel's ledger on one peer.
#[derive(Debug)]
pub struct Ledger {
    blocks: Vec<Block>,
    state: WorldState,
    tx_index: HashMap<String, TxLocation>,
    bundle: ChannelBundle,
    last_config_block: u64,
}

impl Ledger {
    /// A new ledger from a channel's genesis block (what JoinChain does).
    pub fn from_genesis(genesis_block: Block) -> Result<Ledger, ConfigError> {
        let (config, tx_id) = read_genesis_block(&genesis_block)?;
        let mut ledger = Ledger {
            blocks: Vec::new(),
            state: WorldState::default(),
            tx_index: HashMap::default(),
            bundle: ChannelBundle::new(config)?,
            last_config_block: 0,
        };
        let genesis = ValidatedTx {
            tx_id: Some(tx_id),
            code: ValidationCode::Valid,
            effect: TxEffect::None,
        };
        ledger.append(genesis_block, vec![genesis], None);
        Ok(ledger)
    }

    pub fn channel_id(&self) -> &str {
        self.bundle.channel_id()
    }

    pub fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn tip(&self) -> &Block {
        self.blocks
            .last()
            .expect("a ledger starts with its genesis block")
    }

    pub fn tip_hash(&self) -> Hash {
        self.tip().hash()
    }

    pub fn chain_info(&self) -> ChainInfo {
        let tip = self.tip();
        ChainInfo {
            height: self.height(),
            current_block_hash: tip.hash(),
            previous_block_hash: tip.header.previous_hash,
        }
    }

    pub fn block(&self, number: u64) -> Option<&Block> {
        self.blocks.get(usize::try_from(number).ok()?)
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn state(&self) -> &WorldState {
        &self.state
    }

    pub fn transaction(&self, tx_id: &str) -> Option<&TxLocation> {
        self.tx_index.get(tx_id)
    }

    pub fn bundle(&self) -> &ChannelBundle {
        &self.bundle
    }

    pub fn config(&self) -> &ChannelConfig {
        self.bundle.config()
    }

    pub fn last_config_block(&self) -> u64 {
        self.last_config_block
    }

    /// The durable form: the blocks with their validation codes.
    pub fn into_blocks(self) -> Vec<Block> {
        self.blocks
    }

    /// Validates and appends `block`; see the module comment for what is refused.
    pub fn commit(&mut self, block: Block) -> Result<CommitSummary, CommitError> {
        let channel_id = || self.channel_id().to_string();
        let number = block.header.number;
        if number != self.height() {
            return Err(CommitError::WrongNumber {
                channel_id: channel_id(),
                expected: self.height(),
                found: number,
            });
        }
        if block.header.previous_hash != self.tip_hash() {
            return Err(CommitError::WrongPreviousHash {
                channel_id: channel_id(),
                number,
            });
        }
        if block.header.data_hash != Block::compute_data_hash(&block.data) {
            return Err(CommitError::WrongDataHash {
                channel_id: channel_id(),
                number,
            });
        }
        verify_block_signature(&self.bundle, &block)?;
        let envelopes: Vec<_> = block
            .data
            .iter()
            .map(|bytes| decode_envelope(bytes))
            .collect();
        let is_config_block = envelopes
            .iter()
            .flatten()
            .any(|(_, payload)| payload.header.header_type == HeaderType::Config);
        let expected_last_config = if is_config_block {
            number
        } else {
            self.last_config_block
        };
        if block.metadata.last_config != expected_last_config {
            return Err(CommitError::WrongLastConfig {
                channel_id: channel_id(),
                number,
                expected: expected_last_config,
                found: block.metadata.last_config,
            });
        }
        if !is_config_block {
            let tx_id_exists = |tx_id: &str| self.tx_index.contains_key(tx_id);
            let committed = Committed {
                bundle: &self.bundle,
                state: &self.state,
                tx_id_exists: &tx_id_exists,
            };
            let validated = validate_transactions(&committed, envelopes);
            return Ok(self.append(block, validated, None));
        }
        let invalid_config = |reason: String| CommitError::InvalidConfigBlock {
            channel_id: channel_id(),
            number,
            reason,
        };
        let mut envelopes = envelopes.into_iter();
        let (Some(Some((envelope, payload))), None) = (envelopes.next(), envelopes.next()) else {
            return Err(invalid_config(
                "a config block must hold exactly one transaction".into(),
            ));
        };
        let (tx_id, config) = validate_config_transaction(&self.bundle, &envelope, payload)
            .map_err(invalid_config)?;
        let bundle = ChannelBundle::new(config).map_err(|e| invalid_config(e.to_string()))?;
        let validated = ValidatedTx {
            tx_id: Some(tx_id),
            code: ValidationCode::Valid,
            effect: TxEffect::None,
        };
        Ok(self.append(block, vec![validated], Some(bundle)))
    }

    /// Applies validated transactions and stores the block; cannot fail.
    fn append(
        &mut self,
        mut block: Block,
        validated: Vec<ValidatedTx>,
        new_bundle: Option<ChannelBundle>,
    ) -> CommitSummary {
        let block_number = block.header.number;
        let mut transactions = Vec::with_capacity(validated.len());
        let mut filter = Vec::with_capacity(validated.len());
        for (tx_number, tx) in validated.into_iter().enumerate() {
            let tx_number = tx_number as u64;
            if let TxEffect::Writes { namespace, rwset } = tx.effect {
                let version = Version {
                    block_number,
                    tx_number,
                };
                self.state.apply(&namespace, rwset.writes, version);
            }
            if let Some(tx_id) = &tx.tx_id {
                // The first transaction with an ID keeps it, as Fabric's block index does.
                self.tx_index.entry(tx_id.clone()).or_insert(TxLocation {
                    block_number,
                    tx_number,
                    code: tx.code,
                });
            }
            filter.push(tx.code);
            transactions.push(CommittedTx {
                tx_id: tx.tx_id,
                code: tx.code,
            });
        }
        let config_updated = new_bundle.is_some();
        if let Some(bundle) = new_bundle {
            self.bundle = bundle;
            self.last_config_block = block_number;
        }
        block.metadata.transactions_filter = filter;
        let summary = CommitSummary {
            block_number,
            block_hash: block.hash(),
            transactions,
            config_updated,
        };
        self.blocks.push(block);
        summary
    }

    /// Rebuilds a ledger from its stored blocks, trusting their validation codes.
    pub fn recover(blocks: Vec<Block>) -> Result<Ledger, RecoverError> {
        let mut blocks = blocks.into_iter();
        let genesis = blocks.next().ok_or(RecoverError::Empty)?;
        let mut ledger = Ledger::from_genesis(genesis).map_err(RecoverError::Genesis)?;
        for block in blocks {
            ledger.replay(block)?;
        }
        Ok(ledger)
    }

    fn replay(&mut self, block: Block) -> Result<(), RecoverError> {
        let number = block.header.number;
        let corrupt = |reason: &str| RecoverError::Corrupt {
            number,
            reason: reason.to_string(),
        };
        if number != self.height() || block.header.previous_hash != self.tip_hash() {
            return Err(corrupt("it does not follow the previous block"));
        }
        let codes = &block.metadata.transactions_filter;
        if codes.len() != block.data.len() {
            return Err(corrupt(
                "its transactions filter does not cover its transactions",
            ));
        }
        let mut new_bundle = None;
        let mut validated = Vec::with_capacity(codes.len());
        for (bytes, &code) in block.data.iter().zip(codes) {
            let Some((_, payload)) = decode_envelope(bytes) else {
                validated.push(ValidatedTx {
                    tx_id: None,
                    code,
                    effect: TxEffect::None,
                });
                continue;
            };
            let tx_id = Some(payload.header.tx_id.clone());
            let effect = match (code, payload.header.header_type) {
                (ValidationCode::Valid, HeaderType::Config) => {
                    let PayloadData::Config(envelope) = payload.data else {
                        return Err(corrupt("a config transaction without a config"));
                    };
                    let bundle =
                        ChannelBundle::new(envelope.config).map_err(|e| corrupt(&e.to_string()))?;
                    new_bundle = Some(bundle);
                    TxEffect::None
                }
                (ValidationCode::Valid, _) => {
                    let response = response_payload(&payload)
                        .ok_or_else(|| corrupt("a valid transaction without results"))?;
                    TxEffect::Writes {
                        namespace: response.chaincode,
                        rwset: response.results,
                    }
                }
                _ => TxEffect::None,
            };
            validated.push(ValidatedTx {
                tx_id,
                code,
                effect,
            });
        }
        self.append(block, validated, new_bundle);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::blocks::{new_block, sign_block};
    use crate::fabric::configtx::config_transaction;
    use crate::fabric::crypto::SigningIdentity;
    use crate::fabric::invocation::AssetCall;
    use crate::fabric::testnet::{Signer, TestNetwork, CHANNEL_ID};
    use crate::fabric::types::{
        encode, Endorsement, Endpoint, Envelope, Payload, ProposalResponsePayload, ReadWriteSet,
        Response, Transaction,
    };
    use crate::fabric::validator::proposal_hash;

    fn create(id: &str) -> AssetCall {
        crate::fabric::testnet::create_asset(id, "Tomoko")
    }

    fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
        rand::SeedableRng::seed_from_u64(seed)
    }

    fn codes(summary: &CommitSummary) -> Vec<ValidationCode> {
        summary.transactions.iter().map(|tx| tx.code).collect()
    }

    /// An envelope signed by `signer` around `header` and an arbitrary endorsed response.
    fn forged_envelope(
        network: &TestNetwork,
        signer: &SigningIdentity,
        header: crate::fabric::types::Header,
        chaincode: &str,
        endorsers: &[usize],
    ) -> Vec<u8> {
        let response_payload = encode(&ProposalResponsePayload {
            proposal_hash: proposal_hash(&header),
            chaincode: chaincode.into(),
            results: ReadWriteSet {
                reads: vec![],
                writes: vec![("k".into(), Some(b"v".to_vec()))],
            },
            response: Response {
                status: 200,
                message: String::new(),
                payload: vec![],
            },
        });
        let endorsements = endorsers
            .iter()
            .map(|&peer| {
                let identity = network.peers[peer].identity();
                let endorser = identity.serialized();
                Endorsement {
                    signature: identity
                        .sign(&Endorsement::signed_bytes(&response_payload, &endorser)),
                    endorser,
                }
            })
            .collect();
        let payload = encode(&Payload {
            header,
            data: PayloadData::Transaction(Transaction {
                response_payload,
                endorsements,
            }),
        });
        encode(&Envelope {
            signature: signer.sign(&payload),
            payload,
        })
    }

    #[test]
    fn blocks_that_do_not_extend_the_chain_or_lack_a_consenter_signature_are_refused() {
        let mut network = TestNetwork::new(41, 2, 1);
        let (envelope, _) = network.asset_transaction(0, create("a1"));
        let good = network.orderer.cut(vec![envelope.clone()]);
        let ledger = network.peers[0].ledger(CHANNEL_ID).unwrap();
        let (height, tip) = (ledger.height(), ledger.tip_hash());
        let signer = &network.orderer.identity;
        let resign = |mut block: Block, identity: &SigningIdentity| {
            block.metadata.signatures.clear();
            let last_config = block.metadata.last_config;
            sign_block(&mut block, identity, last_config);
            block
        };
        let mut wrong_number = good.clone();
        wrong_number.header.number += 1;
        let mut wrong_previous = good.clone();
        wrong_previous.header.previous_hash[0] ^= 1;
        let mut wrong_data = good.clone();
        wrong_data.data.push(envelope);
        let mut unsigned = good.clone();
        unsigned.metadata.signatures.clear();
        let by_orderer_admin = resign(good.clone(), &network.orderer_org.admin);
        let mut wrong_last_config = good.clone();
        wrong_last_config.metadata.last_config = 2;
        let wrong_last_config = resign(wrong_last_config, signer);
        let peer = &mut network.peers[0];
        let ledger = peer.ledgers.get_mut(CHANNEL_ID).unwrap();
        assert!(matches!(
            ledger.commit(resign(wrong_number, signer)),
            Err(CommitError::WrongNumber { .. })
        ));
        assert!(matches!(
            ledger.commit(resign(wrong_previous, signer)),
            Err(CommitError::WrongPreviousHash { .. })
        ));
        assert!(matches!(
            ledger.commit(wrong_data),
            Err(CommitError::WrongDataHash { .. })
        ));
        assert!(matches!(
            ledger.commit(unsigned),
            Err(CommitError::Signature(_))
        ));
        assert!(matches!(
            ledger.commit(by_orderer_admin),
            Err(CommitError::Signature(_))
        ));
        assert!(matches!(
            ledger.commit(wrong_last_config),
            Err(CommitError::WrongLastConfig { .. })
        ));
        assert_eq!((ledger.height(), ledger.tip_hash()), (height, tip));
        assert_eq!(ledger.state().key_count("assets"), 0);
        let summary = ledger.commit(good).unwrap();
        assert_eq!(codes(&summary), vec![ValidationCode::Valid]);
        assert_eq!(ledger.height(), height + 1);
    }

    #[test]
    fn malformed_or_unbound_transactions_get_their_fabric_codes() {
        let mut network = TestNetwork::new(42, 2, 1);
        let both = network.one_peer_per_org();
        let client = network.signer(Signer::Client(0));
        let proposal = crate::fabric::txbuild::signed_proposal(
            client,
            CHANNEL_ID,
            &crate::fabric::invocation::Invocation::GetChannels,
            network.now,
            &mut rng(1),
        );
        let header = proposal.proposal.header.clone();
        let mut bad_tx_id = header.clone();
        bad_tx_id.tx_id = "0".repeat(64);
        let undefined = forged_envelope(&network, client, header.clone(), "other", &both);
        let bad_id = forged_envelope(&network, client, bad_tx_id, "assets", &both);
        // Endorsements bound to another header (another transaction ID).
        let mut other_header = header.clone();
        other_header.nonce[0] ^= 1;
        other_header.tx_id =
            crate::fabric::types::compute_tx_id(&other_header.nonce, &other_header.creator);
        let unbound = {
            let bytes = forged_envelope(&network, client, header.clone(), "assets", &both);
            let envelope: Envelope = crate::fabric::types::decode(&bytes).unwrap();
            let mut payload: Payload = crate::fabric::types::decode(&envelope.payload).unwrap();
            payload.header = other_header;
            let payload = encode(&payload);
            encode(&Envelope {
                signature: client.sign(&payload),
                payload,
            })
        };
        let mut bad_signature: Envelope = crate::fabric::types::decode(&forged_envelope(
            &network, client, header, "assets", &both,
        ))
        .unwrap();
        bad_signature.signature = client.sign(b"something else");
        let summary = network
            .order_and_commit(vec![
                vec![1, 2, 3],
                encode(&bad_signature),
                bad_id,
                unbound,
                undefined,
            ])
            .unwrap();
        assert_eq!(
            codes(&summary[0]),
            vec![
                ValidationCode::BadPayload,
                ValidationCode::BadCreatorSignature,
                ValidationCode::BadProposalTxId,
                ValidationCode::InvalidEndorserTransaction,
                ValidationCode::InvalidChaincode,
            ]
        );
        assert_eq!(summary[0].transactions[0].tx_id, None);
        let block = network.peers[0]
            .ledger(CHANNEL_ID)
            .unwrap()
            .blocks()
            .last()
            .unwrap();
        assert_eq!(block.metadata.transactions_filter, codes(&summary[0]));
    }

    #[test]
    fn anchor_peer_updates_commit_as_config_blocks() {
        let mut network = TestNetwork::new(43, 2, 1);
        let anchors = vec![Endpoint {
            host: "peer0.org1.example.com".into(),
            port: 7051,
        }];
        let update = network.anchor_peers_update(
            Signer::Admin(0),
            CHANNEL_ID,
            "Org1MSP",
            anchors.clone(),
            0,
        );
        let block = network
            .orderer
            .order_config_update(&update, network.now)
            .unwrap();
        let number = block.header.number;
        let summaries = network.commit_everywhere(&block).unwrap();
        assert!(summaries.iter().all(|s| s.config_updated));
        let ledger = network.peers[1].ledger(CHANNEL_ID).unwrap();
        assert_eq!(ledger.config().application["Org1MSP"].anchor_peers, anchors);
        assert_eq!(ledger.config().sequence, 1);
        assert_eq!(ledger.last_config_block(), number);
        // The next block points at the config block.
        let (envelope, _) = network.asset_transaction(1, create("a1"));
        let summary = network.order_and_commit(vec![envelope]).unwrap();
        assert_eq!(codes(&summary[1]), vec![ValidationCode::Valid]);

        // A buggy ordering node ordering an update signed by the wrong admin, or two
        // transactions in a config block: the peers refuse the block.
        let update =
            network.anchor_peers_update(Signer::Admin(1), CHANNEL_ID, "Org1MSP", anchors, 1);
        let mut config = network.peers[0]
            .ledger(CHANNEL_ID)
            .unwrap()
            .config()
            .clone();
        config.sequence += 1;
        let forged = encode(&config_transaction(
            config,
            update,
            &network.orderer.identity,
            0,
        ));
        for data in [vec![forged.clone()], vec![forged.clone(), forged]] {
            let height = network.peers[0].ledger(CHANNEL_ID).unwrap().height();
            let mut block = new_block(height, network.orderer.previous_hash, data);
            sign_block(&mut block, &network.orderer.identity, height);
            let error = network.peers[0].commit(CHANNEL_ID, block).unwrap_err();
            assert!(
                matches!(
                    error,
                    crate::fabric::peer_state::PeerError::Commit(
                        CommitError::InvalidConfigBlock { .. }
                    )
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn recovery_from_the_block_store_rebuilds_state_index_and_config() {
        let mut network = TestNetwork::new(44, 2, 1);
        let (first, first_id) = network.asset_transaction(0, create("a1"));
        let (second, _) = network.asset_transaction(1, create("a2"));
        network
            .order_and_commit(vec![first.clone(), second, first])
            .unwrap();
        let update =
            network.anchor_peers_update(Signer::Admin(1), CHANNEL_ID, "Org2MSP", vec![], 0);
        let block = network
            .orderer
            .order_config_update(&update, network.now)
            .unwrap();
        network.commit_everywhere(&block).unwrap();

        let original = network.peers.remove(0);
        let ledger = original.ledger(CHANNEL_ID).unwrap();
        let (state, index, config, info) = (
            ledger.state().clone(),
            ledger.tx_index.clone(),
            ledger.config().clone(),
            ledger.chain_info(),
        );
        let recovered =
            Ledger::recover(original.into_disk().channels.remove(CHANNEL_ID).unwrap()).unwrap();
        assert_eq!(recovered.state(), &state);
        assert_eq!(recovered.tx_index, index);
        assert_eq!(recovered.config(), &config);
        assert_eq!(recovered.chain_info(), info);
        assert_eq!(recovered.last_config_block(), info.height - 1);
        assert_eq!(
            recovered.transaction(&first_id).unwrap().code,
            ValidationCode::Valid
        );

        let mut blocks = recovered.into_blocks();
        blocks[1].metadata.transactions_filter.pop();
        assert!(matches!(
            Ledger::recover(blocks.clone()),
            Err(RecoverError::Corrupt { number: 1, .. })
        ));
        blocks.remove(1);
        assert!(matches!(
            Ledger::recover(blocks),
            Err(RecoverError::Corrupt { .. })
        ));
        assert!(matches!(Ledger::recover(vec![]), Err(RecoverError::Empty)));
    }
}
