//! Client-side construction of what clients and consoles send (F protoutil/txutils.go,
//! protoutil/proputils.go; the Fabric Gateway client and the console do the same): signed
//! proposals, transaction envelopes from endorsements, signed config updates.

use super::crypto::SigningIdentity;
use super::invocation::Invocation;
use super::types::{
    compute_tx_id, encode, ConfigChange, ConfigSignature, ConfigUpdate, ConfigUpdateEnvelope,
    Envelope, Header, HeaderType, Payload, PayloadData, Proposal, ProposalResponse, SignedProposal,
    Transaction,
};
use rand::RngCore;
use std::time::Duration;
use thiserror::Error;

/// protoutil's nonce size.
const NONCE_BYTES: usize = 24;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AssembleError {
    #[error("no proposal responses")]
    NoResponses,
    #[error("proposal response {index} failed with status {status}: {message}")]
    Failed {
        index: usize,
        status: u32,
        message: String,
    },
    #[error("proposal response {index} is not endorsed")]
    NotEndorsed { index: usize },
    #[error("ProposalResponsePayloads do not match (response {index} differs from response 0)")]
    PayloadMismatch { index: usize },
}

/// A signed proposal and what the client keeps of it to assemble the transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProposal {
    pub proposal: Proposal,
    pub signed: SignedProposal,
}

impl ClientProposal {
    pub fn tx_id(&self) -> &str {
        &self.proposal.header.tx_id
    }
}

fn header(
    signer: &SigningIdentity,
    channel_id: &str,
    header_type: HeaderType,
    now: Duration,
    rng: &mut impl RngCore,
) -> Header {
    let mut nonce = vec![0; NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    let creator = signer.serialized();
    Header {
        channel_id: channel_id.to_string(),
        tx_id: compute_tx_id(&nonce, &creator),
        header_type,
        timestamp_ms: now.as_millis() as u64,
        creator,
        nonce,
    }
}

/// `payload` encoded and signed by `signer`: how a client signs the transaction a Gateway
/// prepared.
pub fn signed_envelope(signer: &SigningIdentity, payload: &Payload) -> Envelope {
    let payload = encode(payload);
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
}

/// A proposal for `invocation` on `channel_id` ("" for channel-less system calls: JoinChain,
/// GetChannels, InstallChaincode, QueryInstalledChaincodes), signed by `signer`.
pub fn signed_proposal(
    signer: &SigningIdentity,
    channel_id: &str,
    invocation: &Invocation,
    now: Duration,
    rng: &mut impl RngCore,
) -> ClientProposal {
    let (chaincode, function, args) = invocation.to_parts();
    let proposal = Proposal {
        header: header(
            signer,
            channel_id,
            HeaderType::EndorserTransaction,
            now,
            rng,
        ),
        chaincode,
        function,
        args,
    };
    let proposal_bytes = encode(&proposal);
    let signed = SignedProposal {
        signature: signer.sign(&proposal_bytes),
        proposal_bytes,
    };
    ClientProposal { proposal, signed }
}

/// The transaction envelope for a proposal and its endorsements, signed by the proposal's
/// creator: every response must have succeeded, be endorsed, and carry the same payload
/// (protoutil.CreateSignedTx).
pub fn transaction_envelope(
    signer: &SigningIdentity,
    proposal: &Proposal,
    responses: &[ProposalResponse],
) -> Result<Envelope, AssembleError> {
    Ok(signed_envelope(
        signer,
        &transaction_payload(proposal, responses)?,
    ))
}

/// The unsigned transaction for a proposal and its endorsements, what the Gateway's Endorse
/// returns for the client to sign (protoutil.CreateTx): every response must have succeeded,
/// be endorsed, and carry the same payload.
pub fn transaction_payload(
    proposal: &Proposal,
    responses: &[ProposalResponse],
) -> Result<Payload, AssembleError> {
    let first = responses.first().ok_or(AssembleError::NoResponses)?;
    let mut endorsements = Vec::with_capacity(responses.len());
    for (index, response) in responses.iter().enumerate() {
        if !(200..400).contains(&response.response.status) {
            return Err(AssembleError::Failed {
                index,
                status: response.response.status,
                message: response.response.message.clone(),
            });
        }
        if response.payload != first.payload {
            return Err(AssembleError::PayloadMismatch { index });
        }
        let endorsement = response
            .endorsement
            .clone()
            .ok_or(AssembleError::NotEndorsed { index })?;
        endorsements.push(endorsement);
    }
    Ok(Payload {
        header: proposal.header.clone(),
        data: PayloadData::Transaction(Transaction {
            response_payload: first.payload.clone(),
            endorsements,
        }),
    })
}

/// A CONFIG_UPDATE envelope for `change` against config `base_sequence`, signed by each of
/// `admins` (the modification policy's signatures) and submitted by `submitter`.
pub fn config_update_envelope(
    submitter: &SigningIdentity,
    admins: &[&SigningIdentity],
    channel_id: &str,
    base_sequence: u64,
    change: ConfigChange,
    now: Duration,
    rng: &mut impl RngCore,
) -> Envelope {
    let config_update = encode(&ConfigUpdate {
        channel_id: channel_id.to_string(),
        base_sequence,
        change,
    });
    let signatures = admins
        .iter()
        .map(|admin| ConfigSignature {
            signer: admin.serialized(),
            signature: admin.sign(&config_update),
        })
        .collect();
    let payload = Payload {
        header: header(submitter, channel_id, HeaderType::ConfigUpdate, now, rng),
        data: PayloadData::ConfigUpdate(ConfigUpdateEnvelope {
            config_update,
            signatures,
        }),
    };
    signed_envelope(submitter, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::invocation::AssetCall;
    use crate::fabric::testnet::{Signer, TestNetwork, CHAINCODE, CHANNEL_ID};
    use crate::fabric::types::decode;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn proposals_carry_fabric_tx_ids_and_differ_per_nonce() {
        let network = TestNetwork::new(71, 1, 1);
        let client = network.signer(Signer::Client(0));
        let make = |seed| {
            signed_proposal(
                client,
                CHANNEL_ID,
                &Invocation::GetChannels,
                Duration::from_millis(1500),
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
        };
        let proposal = make(1);
        let header = &proposal.proposal.header;
        assert_eq!(header.nonce.len(), NONCE_BYTES);
        assert_eq!(
            proposal.tx_id(),
            compute_tx_id(&header.nonce, &client.serialized())
        );
        assert_eq!(header.timestamp_ms, 1500);
        assert_eq!(
            decode::<Proposal>(&proposal.signed.proposal_bytes).unwrap(),
            proposal.proposal
        );
        assert_eq!(make(1), proposal);
        assert_ne!(make(2).tx_id(), proposal.tx_id());
    }

    #[test]
    fn assembly_needs_agreeing_successful_endorsed_responses() {
        let mut network = TestNetwork::new(72, 2, 1);
        let invocation = Invocation::Chaincode {
            name: CHAINCODE.into(),
            call: AssetCall::ReadAsset { id: "none".into() },
        };
        let client = Signer::Client(0);
        let failing = network.propose_as(client, CHANNEL_ID, &invocation);
        let failed = network.endorse(&failing, &[0]);
        let exists = Invocation::Chaincode {
            name: CHAINCODE.into(),
            call: AssetCall::AssetExists { id: "none".into() },
        };
        let proposal = network.propose_as(client, CHANNEL_ID, &exists);
        let good = network.endorse(&proposal, &[0, 1]);
        let signer = network.signer(client);
        let envelope = transaction_envelope(signer, &proposal.proposal, &good).unwrap();
        let payload: Payload = decode(&envelope.payload).unwrap();
        let PayloadData::Transaction(transaction) = payload.data else {
            panic!("not a transaction")
        };
        assert_eq!(transaction.endorsements.len(), 2);
        assert_eq!(payload.header, proposal.proposal.header);

        assert_eq!(
            transaction_envelope(signer, &proposal.proposal, &[]),
            Err(AssembleError::NoResponses)
        );
        assert!(matches!(
            transaction_envelope(signer, &failing.proposal, &failed),
            Err(AssembleError::Failed {
                index: 0,
                status: 500,
                ..
            })
        ));
        let mut unendorsed = good.clone();
        unendorsed[1].endorsement = None;
        assert_eq!(
            transaction_envelope(signer, &proposal.proposal, &unendorsed),
            Err(AssembleError::NotEndorsed { index: 1 })
        );
        let mut differing = good;
        differing[1].payload.push(0);
        assert_eq!(
            transaction_envelope(signer, &proposal.proposal, &differing),
            Err(AssembleError::PayloadMismatch { index: 1 })
        );
    }
}
