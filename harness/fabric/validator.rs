//! Transaction validation on commit (F core/committer/txvalidator/v20/validator.go,
//! core/common/validation/msgvalidation.go, core/committer/txvalidator/v20/plugindispatcher,
//! core/ledger/kvledger/txmgmt/validation).
//!
//! Each transaction of a block gets one validation code, checked in Fabric's order:
//! 1. the envelope and payload decode (BAD_PAYLOAD);
//! 2. the creator is a valid member of a channel organization and signed the payload
//!    (BAD_CREATOR_SIGNATURE);
//! 3. the transaction ID is SHA-256(nonce || creator) (BAD_PROPOSAL_TXID);
//! 4. the endorsed response belongs to this transaction's proposal header
//!    (INVALID_ENDORSER_TRANSACTION);
//! 5. the transaction ID is not already in the ledger (DUPLICATE_TXID);
//! 6. the chaincode is defined on the channel (INVALID_CHAINCODE);
//! 7. the endorsements satisfy the endorsement policy (ENDORSEMENT_POLICY_FAILURE);
//!
//! then, in block order over the transactions still valid: a transaction ID already used by
//! an earlier valid transaction of the block (DUPLICATE_TXID), and a read whose version
//! differs from the committed one or that an earlier valid transaction of the block wrote
//! (MVCC_READ_CONFLICT). Steps 1 to 7 depend only on the committed state, so each envelope is
//! decoded once and each signature verified once per process (crypto::verify's cache).
//!
//! The proposal hash: Fabric hashes the proposal's headers and chaincode input
//! (protoutil.GetProposalHash2); hadr's transaction carries the header but not the input,
//! so [`proposal_hash`] covers the header (channel, tx ID, creator, nonce, time). That binds
//! the endorsements to this transaction ID, which is what stops their reuse.

use super::configtx::{decode_config_update, ChannelBundle};
use super::crypto::sha256;
use super::invocation::LIFECYCLE;
use super::lifecycle::{committed_definition, endorsement_requirements};
use super::policy::{EndorsementRequirement, EndorsementTally};
use super::state::WorldState;
use super::types::{
    compute_tx_id, decode, encode, ChannelConfig, ConfigEnvelope, Envelope, Hash, Header,
    HeaderType, Payload, PayloadData, ProposalResponsePayload, ReadWriteSet, ValidationCode,
};
use std::collections::{BTreeSet, HashSet};

/// What the endorsements of a proposal with this header sign as its `proposal_hash`.
pub fn proposal_hash(header: &Header) -> Hash {
    sha256(&encode(header))
}

/// A transaction after validation: its ID when readable, its code, and the writes of a
/// valid one.
#[derive(Debug)]
pub(crate) struct ValidatedTx {
    pub tx_id: Option<String>,
    pub code: ValidationCode,
    pub effect: TxEffect,
}

#[derive(Debug)]
pub(crate) enum TxEffect {
    None,
    Writes {
        namespace: String,
        rwset: ReadWriteSet,
    },
}

impl ValidatedTx {
    fn invalid(tx_id: Option<String>, code: ValidationCode) -> ValidatedTx {
        ValidatedTx {
            tx_id,
            code,
            effect: TxEffect::None,
        }
    }
}

/// Decodes a block entry into its envelope and payload.
pub(crate) fn decode_envelope(bytes: &[u8]) -> Option<(Envelope, Payload)> {
    let envelope: Envelope = decode(bytes).ok()?;
    let payload = decode(&envelope.payload).ok()?;
    Some((envelope, payload))
}

/// The endorsed results of an endorser transaction's payload.
pub(crate) fn response_payload(payload: &Payload) -> Option<ProposalResponsePayload> {
    match &payload.data {
        PayloadData::Transaction(transaction) => decode(&transaction.response_payload).ok(),
        _ => None,
    }
}

/// The committed state a block is validated against.
pub(crate) struct Committed<'a> {
    pub bundle: &'a ChannelBundle,
    pub state: &'a WorldState,
    pub tx_id_exists: &'a dyn Fn(&str) -> bool,
}

/// Validates the transactions of a block that is not a config block.
pub(crate) fn validate_transactions(
    committed: &Committed<'_>,
    envelopes: Vec<Option<(Envelope, Payload)>>,
) -> Vec<ValidatedTx> {
    let mut validated: Vec<ValidatedTx> = envelopes
        .into_iter()
        .map(|decoded| match decoded {
            Some((envelope, payload)) => {
                validate_endorser_transaction(committed, &envelope, payload)
            }
            None => ValidatedTx::invalid(None, ValidationCode::BadPayload),
        })
        .collect();
    mark_duplicates_and_conflicts(committed.state, &mut validated);
    validated
}

fn validate_endorser_transaction(
    committed: &Committed<'_>,
    envelope: &Envelope,
    payload: Payload,
) -> ValidatedTx {
    let header = &payload.header;
    let tx_id = Some(header.tx_id.clone());
    let invalid = |code| ValidatedTx::invalid(tx_id.clone(), code);
    let bundle = committed.bundle;
    if header.channel_id != bundle.channel_id() {
        return invalid(ValidationCode::InvalidOtherReason);
    }
    if bundle
        .msps()
        .verify(&header.creator, &envelope.payload, &envelope.signature)
        .is_err()
    {
        return invalid(ValidationCode::BadCreatorSignature);
    }
    if header.header_type != HeaderType::EndorserTransaction {
        // CONFIG_UPDATE envelopes are for the ordering service; CONFIG only in config blocks.
        return invalid(ValidationCode::InvalidOtherReason);
    }
    if compute_tx_id(&header.nonce, &header.creator) != header.tx_id {
        return invalid(ValidationCode::BadProposalTxId);
    }
    let PayloadData::Transaction(transaction) = &payload.data else {
        return invalid(ValidationCode::BadPayload);
    };
    let Some(response) = response_payload(&payload) else {
        return invalid(ValidationCode::BadPayload);
    };
    if response.proposal_hash != proposal_hash(header) {
        return invalid(ValidationCode::InvalidEndorserTransaction);
    }
    if (committed.tx_id_exists)(&header.tx_id) {
        return invalid(ValidationCode::DuplicateTxid);
    }
    let tally = EndorsementTally::count(
        bundle.msps(),
        |msp_id| bundle.is_application_org(msp_id),
        &transaction.response_payload,
        &transaction.endorsements,
    );
    let organizations = bundle.application_org_count();
    let satisfied = if response.chaincode == LIFECYCLE {
        let requirements: BTreeSet<EndorsementRequirement> =
            endorsement_requirements(response.results.writes.iter().map(|(key, _)| key.as_str()));
        requirements
            .iter()
            .all(|requirement| tally.check(requirement, organizations).is_ok())
    } else if let Some(definition) = committed_definition(committed.state, &response.chaincode) {
        // The chaincode's own policy, as committed on this channel (v20 builtin validator).
        let orgs: Vec<String> = bundle.config().application.keys().cloned().collect();
        definition
            .endorsement_policy
            .is_satisfied(&tally.signers, &orgs)
    } else {
        return invalid(ValidationCode::InvalidChaincode);
    };
    if !satisfied {
        return invalid(ValidationCode::EndorsementPolicyFailure);
    }
    ValidatedTx {
        tx_id,
        code: ValidationCode::Valid,
        effect: TxEffect::Writes {
            namespace: response.chaincode,
            rwset: response.results,
        },
    }
}

/// The block-order checks: duplicate IDs among valid transactions, then MVCC.
fn mark_duplicates_and_conflicts(state: &WorldState, validated: &mut [ValidatedTx]) {
    let mut codes = Vec::with_capacity(validated.len());
    {
        let mut seen_tx_ids: HashSet<&str> = HashSet::new();
        let mut written: HashSet<(&str, &str)> = HashSet::new();
        for tx in validated.iter() {
            let mut code = tx.code;
            if code == ValidationCode::Valid {
                if let Some(tx_id) = &tx.tx_id {
                    if !seen_tx_ids.insert(tx_id) {
                        code = ValidationCode::DuplicateTxid;
                    }
                }
            }
            if let (ValidationCode::Valid, TxEffect::Writes { namespace, rwset }) =
                (code, &tx.effect)
            {
                let conflict = rwset.reads.iter().any(|(key, version)| {
                    written.contains(&(namespace.as_str(), key.as_str()))
                        || state.version(namespace, key) != *version
                });
                if conflict {
                    code = ValidationCode::MvccReadConflict;
                } else {
                    written.extend(
                        rwset
                            .writes
                            .iter()
                            .map(|(key, _)| (namespace.as_str(), key.as_str())),
                    );
                }
            }
            codes.push(code);
        }
    }
    for (tx, code) in validated.iter_mut().zip(codes) {
        if code != ValidationCode::Valid {
            tx.effect = TxEffect::None;
        }
        tx.code = code;
    }
}

/// Validates the single transaction of a config block: signed by a channel member, carrying
/// an update that the current config accepts and that yields exactly the config it carries.
/// Fabric cannot commit a block whose config transaction fails this (the peer stops,
/// F core/committer/txvalidator/v20/validator.go returns an error for the block); hadr
/// refuses the block the same way.
pub(crate) fn validate_config_transaction(
    bundle: &ChannelBundle,
    envelope: &Envelope,
    payload: Payload,
) -> Result<(String, ChannelConfig), String> {
    let header = &payload.header;
    if header.channel_id != bundle.channel_id() {
        return Err(format!(
            "config transaction for channel {}",
            header.channel_id
        ));
    }
    bundle
        .msps()
        .verify(&header.creator, &envelope.payload, &envelope.signature)
        .map_err(|e| format!("config transaction creator: {e}"))?;
    let tx_id = header.tx_id.clone();
    let PayloadData::Config(envelope) = payload.data else {
        return Err("config transaction without a config".into());
    };
    let ConfigEnvelope {
        config,
        last_update: Some(last_update),
    } = *envelope
    else {
        return Err("config transaction without a config update".into());
    };
    let (_, update) = decode_config_update(&last_update).map_err(|e| e.to_string())?;
    let expected = bundle.apply_update(&update).map_err(|e| e.to_string())?;
    if expected != config {
        return Err("the config does not match the result of its update".into());
    }
    Ok((tx_id, config))
}
