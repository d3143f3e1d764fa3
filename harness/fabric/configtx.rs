//! Channel configuration at run time and its updates (F common/configtx, common/channelconfig).
//!
//! A [`ChannelBundle`] is a channel config with what is derived from it (MSPs, consenter
//! certificates), like Fabric's channelconfig.Bundle; peers and ordering nodes keep one per
//! channel and replace it when a config block commits.
//!
//! A config update is a [`ConfigUpdate`] signed by admins inside a `ConfigUpdateEnvelope`.
//! [`ChannelBundle::apply_update`] checks it and computes the next config; the ordering
//! service runs it when an update is broadcast, and every peer runs it again on the config
//! block and compares with the config the block carries (F core/committer/txvalidator,
//! ChannelResources.Apply -> configtx.Validator.ProposeConfigUpdate).
//!
//! Modification policies of the two updates the procedure makes:
//! - SetAnchorPeers (Application/<org>/AnchorPeers): that organization's Admins, Fabric's
//!   default (`mod_policy: Admins` on the org group, sampleconfig/configtx.yaml).
//! - AddOrganization (the Application group): its mod_policy, v2.5's default
//!   `/Channel/Application/Admins`, MAJORITY of the application organizations' Admins
//!   (none needed while the channel has no application organization). The ordering service
//!   admin submits it, as the procedure says; the signatures of the organizations already
//!   on the channel are collected first, as the console's channel update flow does.

use super::crypto::{sha256, Certificate, SerializedIdentity, SigningIdentity};
use super::msp::{Msp, MspError, MspManager};
use super::policy::{check_application_admins, check_org_admins, PolicyError};
use super::types::{
    compute_tx_id, decode, encode, Block, BlockHeader, BlockMetadata, ChannelConfig, ConfigChange,
    ConfigEnvelope, ConfigUpdate, ConfigUpdateEnvelope, Envelope, Header, HeaderType, Payload,
    PayloadData,
};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("channel config: {0}")]
    Msp(#[from] MspError),
    #[error("consenter {endpoint}: its identity certificate is not a valid PEM certificate")]
    BadConsenterCertificate { endpoint: String },
    #[error("malformed config update: {0}")]
    Malformed(String),
    #[error("config update for channel {found} sent to channel {expected}")]
    WrongChannel { expected: String, found: String },
    #[error("config update computed against config sequence {base_sequence}, but the channel is at sequence {current_sequence}")]
    StaleSequence {
        base_sequence: u64,
        current_sequence: u64,
    },
    #[error("config update not authorized: {0}")]
    Policy(#[from] PolicyError),
    #[error("organization {msp_id} is not an application organization of channel {channel_id}")]
    UnknownOrg { msp_id: String, channel_id: String },
    #[error("organization {msp_id} is already a member of channel {channel_id}")]
    OrgExists { msp_id: String, channel_id: String },
}

/// A channel config and what the channel's members derive from it.
#[derive(Debug)]
pub struct ChannelBundle {
    config: ChannelConfig,
    msps: MspManager,
    consenters: Vec<Certificate>,
}

impl ChannelBundle {
    pub fn new(config: ChannelConfig) -> Result<ChannelBundle, ConfigError> {
        let msps = MspManager::from_config(&config)?;
        let consenters = config
            .orderer
            .consenters
            .iter()
            .map(|consenter| {
                Certificate::from_pem(&consenter.identity_cert).map_err(|_| {
                    ConfigError::BadConsenterCertificate {
                        endpoint: consenter.endpoint.to_string(),
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ChannelBundle {
            config,
            msps,
            consenters,
        })
    }

    pub fn config(&self) -> &ChannelConfig {
        &self.config
    }

    pub fn channel_id(&self) -> &str {
        &self.config.channel_id
    }

    pub fn msps(&self) -> &MspManager {
        &self.msps
    }

    pub fn is_application_org(&self, msp_id: &str) -> bool {
        self.config.application.contains_key(msp_id)
    }

    pub fn application_org_count(&self) -> usize {
        self.config.application.len()
    }

    /// The consenter whose certificate `signer` presents, if any.
    pub fn consenter(&self, signer: &SerializedIdentity) -> Option<&Certificate> {
        self.consenters
            .iter()
            .find(|certificate| certificate.der == signer.certificate_der)
    }

    /// Checks a signed config update against this config and returns the next config.
    pub fn apply_update(
        &self,
        update_envelope: &ConfigUpdateEnvelope,
    ) -> Result<ChannelConfig, ConfigError> {
        let update: ConfigUpdate = decode(&update_envelope.config_update)
            .map_err(|e| ConfigError::Malformed(e.to_string()))?;
        if update.channel_id != self.config.channel_id {
            return Err(ConfigError::WrongChannel {
                expected: self.config.channel_id.clone(),
                found: update.channel_id,
            });
        }
        if update.base_sequence != self.config.sequence {
            return Err(ConfigError::StaleSequence {
                base_sequence: update.base_sequence,
                current_sequence: self.config.sequence,
            });
        }
        let signed = &update_envelope.config_update;
        let signatures = &update_envelope.signatures;
        let mut next = self.config.clone();
        match update.change {
            ConfigChange::SetAnchorPeers {
                msp_id,
                anchor_peers,
            } => {
                check_org_admins(&self.msps, &msp_id, signed, signatures)?;
                let org =
                    next.application
                        .get_mut(&msp_id)
                        .ok_or_else(|| ConfigError::UnknownOrg {
                            msp_id: msp_id.clone(),
                            channel_id: self.config.channel_id.clone(),
                        })?;
                org.anchor_peers = anchor_peers;
            }
            ConfigChange::AddOrganization { org } => {
                check_application_admins(
                    &self.msps,
                    self.config.application.keys(),
                    signed,
                    signatures,
                )?;
                let msp_id = org.msp.msp_id.clone();
                if next.application.contains_key(&msp_id) || msp_id == next.orderer.msp.msp_id {
                    return Err(ConfigError::OrgExists {
                        msp_id,
                        channel_id: self.config.channel_id.clone(),
                    });
                }
                Msp::new(&org.msp)?;
                next.application.insert(msp_id, org);
            }
        }
        next.sequence += 1;
        Ok(next)
    }
}

/// Decodes a `ConfigUpdate` envelope's payload: its header and the signed update.
pub fn decode_config_update(
    envelope: &Envelope,
) -> Result<(Header, ConfigUpdateEnvelope), ConfigError> {
    let payload: Payload =
        decode(&envelope.payload).map_err(|e| ConfigError::Malformed(e.to_string()))?;
    match payload.data {
        PayloadData::ConfigUpdate(update)
            if payload.header.header_type == HeaderType::ConfigUpdate =>
        {
            Ok((payload.header, update))
        }
        _ => Err(ConfigError::Malformed(
            "the envelope does not carry a config update".into(),
        )),
    }
}

/// Builds the signed CONFIG transaction the ordering service orders for an accepted update
/// (F orderer/common/msgprocessor/standardchannel.go ProcessConfigUpdateMsg): the new config
/// and the update behind it, signed by the ordering node. The nonce is derived from the
/// update, so the same update gives the same transaction ID on every run.
pub fn config_transaction(
    config: ChannelConfig,
    last_update: Envelope,
    signer: &SigningIdentity,
    timestamp_ms: u64,
) -> Envelope {
    let nonce = sha256(&encode(&last_update))[..24].to_vec();
    let creator = signer.serialized();
    let payload = Payload {
        header: Header {
            channel_id: config.channel_id.clone(),
            tx_id: compute_tx_id(&nonce, &creator),
            header_type: HeaderType::Config,
            timestamp_ms,
            creator,
            nonce,
        },
        data: PayloadData::Config(Box::new(ConfigEnvelope {
            config,
            last_update: Some(Box::new(last_update)),
        })),
    };
    let payload = encode(&payload);
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
}

/// The genesis block of a channel: block 0 with one unsigned CONFIG transaction, as
/// `configtxgen -outputBlock` (or the console) makes it and `osnadmin channel join` and
/// `peer channel join` take it. Nobody signs it: whoever holds it is trusted to have it
/// from the channel's creator, as in Fabric.
pub fn genesis_block(config: &ChannelConfig) -> Block {
    let nonce = sha256(&encode(config))[..24].to_vec();
    let creator = SerializedIdentity {
        msp_id: String::new(),
        certificate_der: Vec::new(),
    };
    let payload = Payload {
        header: Header {
            channel_id: config.channel_id.clone(),
            tx_id: compute_tx_id(&nonce, &creator),
            header_type: HeaderType::Config,
            timestamp_ms: 0,
            creator,
            nonce,
        },
        data: PayloadData::Config(Box::new(ConfigEnvelope {
            config: config.clone(),
            last_update: None,
        })),
    };
    let data = vec![encode(&Envelope {
        payload: encode(&payload),
        signature: Vec::new(),
    })];
    Block {
        header: BlockHeader {
            number: 0,
            previous_hash: [0; 32],
            data_hash: Block::compute_data_hash(&data),
        },
        data,
        metadata: BlockMetadata::default(),
    }
}

/// The config a genesis block carries, after checking it is one: number 0, no previous
/// hash, matching data hash, a single CONFIG transaction for the channel it names.
pub fn read_genesis_block(block: &Block) -> Result<(ChannelConfig, String), ConfigError> {
    let malformed = |what: &str| ConfigError::Malformed(format!("not a genesis block: {what}"));
    if block.header.number != 0 || block.header.previous_hash != [0; 32] {
        return Err(malformed("its number is not 0 or it has a previous hash"));
    }
    if block.header.data_hash != Block::compute_data_hash(&block.data) {
        return Err(malformed("its data hash does not match its data"));
    }
    let [envelope] = block.data.as_slice() else {
        return Err(malformed("it does not hold exactly one transaction"));
    };
    let envelope: Envelope = decode(envelope).map_err(|_| malformed("undecodable envelope"))?;
    let payload: Payload =
        decode(&envelope.payload).map_err(|_| malformed("undecodable payload"))?;
    match payload.data {
        PayloadData::Config(envelope)
            if envelope.last_update.is_none()
                && payload.header.header_type == HeaderType::Config
                && envelope.config.channel_id == payload.header.channel_id =>
        {
            Ok((envelope.config, payload.header.tx_id))
        }
        _ => Err(malformed(
            "its transaction is not the channel's initial config",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use crate::fabric::crypto::{NodeOu, SigningIdentity};
    use crate::fabric::cryptogen::OrgCrypto;
    use crate::fabric::types::{ConfigSignature, Endpoint};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    struct Fixture {
        bundle: ChannelBundle,
        /// The same channel before any application organization joined.
        empty: ChannelBundle,
        orderer_org: OrgCrypto,
        org1: OrgCrypto,
        org2: OrgCrypto,
        org3: OrgCrypto,
    }

    fn fixture() -> Fixture {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let orderer = orderer_org
            .enroll("orderer0", NodeOu::Orderer, &mut rng)
            .unwrap();
        let org1 = OrgCrypto::generate("Org1MSP", &mut rng).unwrap();
        let org2 = OrgCrypto::generate("Org2MSP", &mut rng).unwrap();
        let org3 = OrgCrypto::generate("Org3MSP", &mut rng).unwrap();
        let endpoint = Endpoint {
            host: "orderer0".into(),
            port: 7050,
        };
        let ordering = FabricConfig::default().ordering;
        let config = orderer_org.channel_config(
            "channel1",
            &[(endpoint.clone(), &orderer)],
            &[&org1, &org2],
            &ordering,
        );
        let empty = orderer_org.channel_config("channel1", &[(endpoint, &orderer)], &[], &ordering);
        Fixture {
            bundle: ChannelBundle::new(config).unwrap(),
            empty: ChannelBundle::new(empty).unwrap(),
            orderer_org,
            org1,
            org2,
            org3,
        }
    }

    fn signed(update: &ConfigUpdate, signers: &[&SigningIdentity]) -> ConfigUpdateEnvelope {
        let config_update = encode(update);
        ConfigUpdateEnvelope {
            signatures: signers
                .iter()
                .map(|signer| ConfigSignature {
                    signer: signer.serialized(),
                    signature: signer.sign(&config_update),
                })
                .collect(),
            config_update,
        }
    }

    fn anchor_update(base_sequence: u64) -> ConfigUpdate {
        ConfigUpdate {
            channel_id: "channel1".into(),
            base_sequence,
            change: ConfigChange::SetAnchorPeers {
                msp_id: "Org1MSP".into(),
                anchor_peers: vec![Endpoint {
                    host: "peer0.org1.us-east".into(),
                    port: 7051,
                }],
            },
        }
    }

    #[test]
    fn anchor_peers_need_the_org_admin_and_the_current_sequence() {
        let f = fixture();
        let next = f
            .bundle
            .apply_update(&signed(&anchor_update(0), &[&f.org1.admin]))
            .unwrap();
        assert_eq!(next.sequence, 1);
        assert_eq!(next.application["Org1MSP"].anchor_peers.len(), 1);
        assert!(matches!(
            f.bundle
                .apply_update(&signed(&anchor_update(0), &[&f.org2.admin])),
            Err(ConfigError::Policy(PolicyError::NoAdminSignature { .. }))
        ));
        assert!(matches!(
            f.bundle
                .apply_update(&signed(&anchor_update(1), &[&f.org1.admin])),
            Err(ConfigError::StaleSequence { .. })
        ));
        let mut other_channel = anchor_update(0);
        other_channel.channel_id = "other".into();
        assert!(matches!(
            f.bundle
                .apply_update(&signed(&other_channel, &[&f.org1.admin])),
            Err(ConfigError::WrongChannel { .. })
        ));
    }

    #[test]
    fn adding_an_org_needs_a_majority_of_the_application_admins_and_a_new_msp() {
        let f = fixture();
        let add = |org: &OrgCrypto| ConfigUpdate {
            channel_id: "channel1".into(),
            base_sequence: 0,
            change: ConfigChange::AddOrganization {
                org: org.application_org(vec![]),
            },
        };
        // Two application orgs: MAJORITY is both.
        let next = f
            .bundle
            .apply_update(&signed(&add(&f.org3), &[&f.org1.admin, &f.org2.admin]))
            .unwrap();
        assert!(next.application.contains_key("Org3MSP"));
        for signers in [vec![&f.orderer_org.admin], vec![&f.org1.admin]] {
            let refused = f.bundle.apply_update(&signed(&add(&f.org3), &signers));
            assert!(
                matches!(
                    &refused,
                    Err(ConfigError::Policy(PolicyError::NotEnoughAdmins {
                        required: 2,
                        organizations: 2,
                        ..
                    }))
                ),
                "{refused:?}"
            );
        }
        assert!(matches!(
            f.bundle
                .apply_update(&signed(&add(&f.org1), &[&f.org1.admin, &f.org2.admin])),
            Err(ConfigError::OrgExists { .. })
        ));
        let mut broken = f.org3.application_org(vec![]);
        broken.msp.root_certs = vec!["garbage".into()];
        let update = ConfigUpdate {
            channel_id: "channel1".into(),
            base_sequence: 0,
            change: ConfigChange::AddOrganization { org: broken },
        };
        assert!(matches!(
            f.bundle
                .apply_update(&signed(&update, &[&f.org1.admin, &f.org2.admin])),
            Err(ConfigError::Msp(_))
        ));
        // The first application organization needs nobody's signature (threshold 0).
        assert!(f
            .empty
            .apply_update(&signed(&add(&f.org1), &[&f.orderer_org.admin]))
            .is_ok());
    }

    #[test]
    fn genesis_block_round_trips_and_forgeries_are_refused() {
        let f = fixture();
        let block = genesis_block(f.bundle.config());
        let (config, _) = read_genesis_block(&block).unwrap();
        assert_eq!(&config, f.bundle.config());
        assert_eq!(genesis_block(&config).hash(), block.hash());
        let mut tampered = block.clone();
        tampered.header.number = 1;
        assert!(read_genesis_block(&tampered).is_err());
        let mut tampered = block.clone();
        tampered.data[0][5] ^= 1;
        assert!(read_genesis_block(&tampered).is_err());
        let mut two = block;
        two.data.push(two.data[0].clone());
        two.header.data_hash = Block::compute_data_hash(&two.data);
        assert!(read_genesis_block(&two).is_err());
    }
}
