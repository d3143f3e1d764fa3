//! Identities, the genesis block and client envelopes for the orderer's tests, made with the
//! crate's own cryptogen, configtx and txbuild (real X.509 identities and ECDSA signatures).

use crate::fabric::config::OrderingConfig;
use crate::fabric::configtx::genesis_block;
use crate::fabric::crypto::{NodeOu, SigningIdentity};
use crate::fabric::cryptogen::OrgCrypto;
use crate::fabric::invocation::Invocation;
use crate::fabric::txbuild::{config_update_envelope, signed_proposal, transaction_envelope};
use crate::fabric::types::{
    Block, ChannelConfig, ConfigChange, Endorsement, Endpoint, Envelope, ProposalResponse, Response,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const CHANNEL: &str = "channel1";

/// Built once, from a fixed seed, and shared by every test.
pub struct Fixture {
    pub orderers: Vec<Arc<SigningIdentity>>,
    pub client: SigningIdentity,
    pub org1_admin: SigningIdentity,
    /// Claims Org1MSP, but Org1's CA did not issue its certificate.
    pub outsider: SigningIdentity,
    orderer_org: OrgCrypto,
    org1: OrgCrypto,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let mut org1 = OrgCrypto::generate("Org1MSP", &mut rng).unwrap();
        let mut impostor = OrgCrypto::generate("Org1MSP", &mut rng).unwrap();
        let orderers = (0..3)
            .map(|i| {
                let name = format!("orderer{i}.example.com");
                Arc::new(
                    orderer_org
                        .enroll(&name, NodeOu::Orderer, &mut rng)
                        .unwrap(),
                )
            })
            .collect();
        let client = org1.enroll("user1", NodeOu::Client, &mut rng).unwrap();
        let org1_admin = org1.enroll("admin1", NodeOu::Admin, &mut rng).unwrap();
        let outsider = impostor.enroll("user1", NodeOu::Client, &mut rng).unwrap();
        Fixture {
            orderers,
            client,
            org1_admin,
            outsider,
            orderer_org,
            org1,
        }
    })
}

impl Fixture {
    /// The channel's first config: the first `size` orderers as consenters, BatchTimeout 2s
    /// and the given MaxMessageCount.
    pub fn genesis_config(
        &self,
        size: usize,
        max_message_count: u32,
        ordering: &OrderingConfig,
    ) -> ChannelConfig {
        let endpoints: Vec<Endpoint> = (0..size)
            .map(|i| Endpoint {
                host: format!("orderer{i}.example.com"),
                port: 7050,
            })
            .collect();
        let nodes: Vec<(Endpoint, &SigningIdentity)> = endpoints
            .into_iter()
            .zip(self.orderers.iter().map(|o| o.as_ref()))
            .collect();
        let mut config = self
            .orderer_org
            .channel_config(CHANNEL, &nodes, &[&self.org1], ordering);
        config.orderer.max_message_count = max_message_count;
        config
    }

    pub fn genesis_block(&self, config: &ChannelConfig) -> Block {
        genesis_block(config)
    }

    /// An endorser transaction from Org1's client, as the client assembles it, with a
    /// response payload of `bytes` bytes (the orderer does not look at endorsements).
    pub fn transaction(&self, nonce: u64, bytes: usize) -> Envelope {
        let mut rng = ChaCha8Rng::seed_from_u64(nonce);
        let proposal = signed_proposal(
            &self.client,
            CHANNEL,
            &Invocation::GetChannels,
            Duration::ZERO,
            &mut rng,
        );
        let response = ProposalResponse {
            payload: vec![0xab; bytes],
            endorsement: Some(Endorsement {
                endorser: self.client.serialized(),
                signature: Vec::new(),
            }),
            response: Response {
                status: 200,
                message: String::new(),
                payload: Vec::new(),
            },
        };
        transaction_envelope(&self.client, &proposal.proposal, &[response])
            .expect("one endorsed response")
    }

    /// A config update setting Org1's anchor peers, signed and submitted by `signer` (the
    /// modification policy wants Org1's admin).
    pub fn anchor_peer_update(&self, base_sequence: u64, signer: &SigningIdentity) -> Envelope {
        let change = ConfigChange::SetAnchorPeers {
            msp_id: "Org1MSP".to_string(),
            anchor_peers: vec![Endpoint {
                host: "peer0.org1.us-east".to_string(),
                port: 7051,
            }],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(base_sequence);
        config_update_envelope(
            signer,
            &[signer],
            CHANNEL,
            base_sequence,
            change,
            Duration::ZERO,
            &mut rng,
        )
    }
}
