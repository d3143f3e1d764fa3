//! Deterministic crypto material for an organization, what Fabric's `cryptogen` tool makes
//! for test networks (F internal/cryptogen): a root CA, an admin, and identities with NodeOU
//! roles enrolled from it, all from a seeded RNG so the same seed gives the same bytes.
//! The scenario runner uses the CA node's enroll flow instead where the procedure does;
//! this is for channel bootstrap, tests and benches.

use super::config::OrderingConfig;
use super::crypto::{CaKeys, CryptoError, KeyPair, NodeOu, SigningIdentity};
use super::types::{
    ApplicationOrg, ChannelConfig, Consenter, Endpoint, MspDefinition, OrdererSection,
};
use rand::RngCore;

/// One organization's CA and admin.
pub struct OrgCrypto {
    pub msp_id: String,
    pub ca: CaKeys,
    /// The organization's admin (NodeOU admin), `Admin@<msp_id>` as cryptogen names it.
    pub admin: SigningIdentity,
}

impl OrgCrypto {
    pub fn generate(msp_id: &str, rng: &mut impl RngCore) -> Result<OrgCrypto, CryptoError> {
        let mut ca = CaKeys::new_root(&format!("ca.{msp_id}"), msp_id, rng)?;
        let admin = enroll(
            &mut ca,
            msp_id,
            &format!("Admin@{msp_id}"),
            NodeOu::Admin,
            rng,
        )?;
        Ok(OrgCrypto {
            msp_id: msp_id.to_string(),
            ca,
            admin,
        })
    }

    /// A new identity issued by this organization's CA.
    pub fn enroll(
        &mut self,
        common_name: &str,
        role: NodeOu,
        rng: &mut impl RngCore,
    ) -> Result<SigningIdentity, CryptoError> {
        enroll(&mut self.ca, &self.msp_id, common_name, role, rng)
    }

    /// The MSP definition with NodeOUs enabled, as the console creates it.
    pub fn msp_definition(&self) -> MspDefinition {
        MspDefinition {
            msp_id: self.msp_id.clone(),
            root_certs: vec![self.ca.certificate.to_pem()],
            intermediate_certs: vec![],
            admins: vec![],
            tls_root_certs: vec![],
            node_ous: true,
        }
    }

    pub fn application_org(&self, anchor_peers: Vec<Endpoint>) -> ApplicationOrg {
        ApplicationOrg {
            msp: self.msp_definition(),
            anchor_peers,
        }
    }

    /// A new channel's config (sequence 0) ordered by this organization: `consenters` are
    /// its Raft nodes and orderer endpoints, `application` its member organizations (no
    /// anchor peers yet), batch parameters from `ordering` (configtx.yaml
    /// Orderer.BatchTimeout, Orderer.BatchSize.MaxMessageCount).
    pub fn channel_config(
        &self,
        channel_id: &str,
        consenters: &[(Endpoint, &SigningIdentity)],
        application: &[&OrgCrypto],
        ordering: &OrderingConfig,
    ) -> ChannelConfig {
        let orderer = OrdererSection {
            msp: self.msp_definition(),
            endpoints: consenters
                .iter()
                .map(|(endpoint, _)| endpoint.clone())
                .collect(),
            consenters: consenters
                .iter()
                .map(|(endpoint, identity)| Consenter {
                    endpoint: endpoint.clone(),
                    identity_cert: identity.certificate.to_pem(),
                })
                .collect(),
            batch_timeout_ms: ordering.batch_timeout.as_millis() as u64,
            max_message_count: ordering.max_message_count,
        };
        ChannelConfig {
            channel_id: channel_id.to_string(),
            sequence: 0,
            orderer,
            application: application
                .iter()
                .map(|org| (org.msp_id.clone(), org.application_org(vec![])))
                .collect(),
        }
    }
}

fn enroll(
    ca: &mut CaKeys,
    msp_id: &str,
    common_name: &str,
    role: NodeOu,
    rng: &mut impl RngCore,
) -> Result<SigningIdentity, CryptoError> {
    let key = KeyPair::generate(rng);
    let certificate = ca.issue(common_name, msp_id, role, &key, &[])?;
    Ok(SigningIdentity {
        msp_id: msp_id.to_string(),
        certificate,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn same_seed_same_material_and_roles_as_asked() {
        let make = || {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut org = OrgCrypto::generate("Org1MSP", &mut rng).unwrap();
            let peer = org.enroll("peer0", NodeOu::Peer, &mut rng).unwrap();
            (org, peer)
        };
        let (org, peer) = make();
        let (again, peer_again) = make();
        assert_eq!(org.msp_definition(), again.msp_definition());
        assert_eq!(peer.certificate, peer_again.certificate);
        assert_eq!(org.admin.certificate.role(), Some(NodeOu::Admin));
        assert_eq!(peer.certificate.role(), Some(NodeOu::Peer));
        assert!(peer.certificate.is_issued_by(&org.ca.certificate));
        let endpoint = Endpoint {
            host: "orderer0".into(),
            port: 7050,
        };
        let config = org.channel_config(
            "ch",
            &[(endpoint, &peer)],
            &[&again],
            &FabricConfig::default().ordering,
        );
        assert_eq!(config.orderer.batch_timeout_ms, 2000);
        assert_eq!(
            config.orderer.consenters[0].identity_cert,
            peer.certificate.to_pem()
        );
        assert_eq!(config.orderer.endpoints[0].port, 7050);
        assert!(config.application["Org1MSP"].anchor_peers.is_empty());
    }
}
