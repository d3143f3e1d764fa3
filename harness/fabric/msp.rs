//! Membership service providers: which certificates belong to an organization and in which
//! role, as Fabric's X.509 MSP decides it (F msp/mspimpl.go, msp/mspimplvalidate.go).
//!
//! An identity is valid for an MSP when its certificate chains to one of the MSP's root
//! certificates, directly or through one of its intermediate certificates, and, with NodeOUs
//! enabled, carries one of the four NodeOU roles. An identity is an admin when it has the
//! admin OU (NodeOUs enabled) or its certificate is listed among the MSP's admins
//! (F msp/mspimpl.go isInAdmins). Certificate validity periods are not checked: hadr's
//! certificates are issued for a fixed ten-year window and simulated time has no calendar.
//!
//! Fabric caches the outcome of validating an identity (mspimplvalidate.go validateIdentity);
//! so does [`Msp`], keyed by certificate bytes, so each certificate is parsed and chained once
//! per MSP instance however many transactions it signs.

use super::crypto::{verify, Certificate, NodeOu, SerializedIdentity};
use super::types::{ChannelConfig, MspDefinition};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MspError {
    #[error("MSP {msp_id} is not defined here")]
    UnknownMsp { msp_id: String },
    #[error("MSP {msp_id}: {what} is not a valid PEM certificate: {reason}")]
    BadMspCertificate {
        msp_id: String,
        what: &'static str,
        reason: String,
    },
    #[error("the identity's certificate cannot be parsed: {reason}")]
    BadIdentityCertificate { reason: String },
    #[error("identity {common_name} is not issued by a CA of MSP {msp_id}")]
    NotIssuedByMsp { msp_id: String, common_name: String },
    #[error("identity {common_name} of MSP {msp_id} has no NodeOU role (client, peer, admin or orderer) although NodeOUs are enabled")]
    NoNodeOuRole { msp_id: String, common_name: String },
    #[error("the signature of {common_name} ({msp_id}) does not verify")]
    BadSignature { msp_id: String, common_name: String },
}

/// A validated identity: the certificate and what the MSP says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub msp_id: String,
    pub certificate: Certificate,
    /// The NodeOU role; None when the MSP has NodeOUs disabled.
    pub role: Option<NodeOu>,
    pub is_admin: bool,
}

impl Identity {
    /// Verifies `signature` over `message` with this identity's key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), MspError> {
        if verify(&self.certificate.public_key, message, signature) {
            Ok(())
        } else {
            Err(MspError::BadSignature {
                msp_id: self.msp_id.clone(),
                common_name: self.certificate.common_name.clone(),
            })
        }
    }

    /// True when the identity can act as a peer of its organization: the peer NodeOU, or any
    /// member when the MSP has NodeOUs disabled (Fabric's sampleconfig endorsement policy is
    /// `OR('SampleOrg.member')`; fabric-samples' test network uses `OR('Org1MSP.peer')`).
    pub fn is_peer(&self) -> bool {
        matches!(self.role, None | Some(NodeOu::Peer))
    }
}

type ValidationCache = HashMap<Vec<u8>, Result<Arc<Identity>, MspError>>;

/// One organization's MSP.
#[derive(Debug)]
pub struct Msp {
    msp_id: String,
    node_ous: bool,
    roots: Vec<Certificate>,
    intermediates: Vec<Certificate>,
    admin_certificates: Vec<Vec<u8>>,
    validated: Mutex<ValidationCache>,
}

impl Msp {
    pub fn new(definition: &MspDefinition) -> Result<Msp, MspError> {
        let parse_all = |pems: &[String], what: &'static str| {
            pems.iter()
                .map(|pem| {
                    Certificate::from_pem(pem).map_err(|e| MspError::BadMspCertificate {
                        msp_id: definition.msp_id.clone(),
                        what,
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Msp {
            msp_id: definition.msp_id.clone(),
            node_ous: definition.node_ous,
            roots: parse_all(&definition.root_certs, "a root certificate")?,
            intermediates: parse_all(
                &definition.intermediate_certs,
                "an intermediate certificate",
            )?,
            admin_certificates: parse_all(&definition.admins, "an admin certificate")?
                .into_iter()
                .map(|certificate| certificate.der)
                .collect(),
            validated: Mutex::new(HashMap::default()),
        })
    }

    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// Validates `identity` as a member of this MSP.
    pub fn validate(&self, identity: &SerializedIdentity) -> Result<Arc<Identity>, MspError> {
        if identity.msp_id != self.msp_id {
            return Err(MspError::UnknownMsp {
                msp_id: identity.msp_id.clone(),
            });
        }
        let mut cache = self.validated.lock().expect("MSP cache");
        if let Some(outcome) = cache.get(&identity.certificate_der) {
            return outcome.clone();
        }
        let outcome = self
            .validate_uncached(&identity.certificate_der)
            .map(Arc::new);
        cache.insert(identity.certificate_der.clone(), outcome.clone());
        outcome
    }

    /// Validates `identity` and verifies its signature over `message`.
    pub fn verify(
        &self,
        identity: &SerializedIdentity,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Arc<Identity>, MspError> {
        let identity = self.validate(identity)?;
        identity.verify(message, signature)?;
        Ok(identity)
    }

    fn validate_uncached(&self, der: &[u8]) -> Result<Identity, MspError> {
        let certificate =
            Certificate::from_der(der).map_err(|e| MspError::BadIdentityCertificate {
                reason: e.to_string(),
            })?;
        if !self.chains_to_root(&certificate) {
            return Err(MspError::NotIssuedByMsp {
                msp_id: self.msp_id.clone(),
                common_name: certificate.common_name,
            });
        }
        let role = if self.node_ous {
            Some(certificate.role().ok_or_else(|| MspError::NoNodeOuRole {
                msp_id: self.msp_id.clone(),
                common_name: certificate.common_name.clone(),
            })?)
        } else {
            None
        };
        let is_admin =
            role == Some(NodeOu::Admin) || self.admin_certificates.contains(&certificate.der);
        Ok(Identity {
            msp_id: self.msp_id.clone(),
            certificate,
            role,
            is_admin,
        })
    }

    /// Root <- (at most one intermediate) <- leaf, the chains fabric-ca produces.
    fn chains_to_root(&self, certificate: &Certificate) -> bool {
        self.roots.iter().any(|root| certificate.is_issued_by(root))
            || self.intermediates.iter().any(|intermediate| {
                certificate.is_issued_by(intermediate)
                    && self
                        .roots
                        .iter()
                        .any(|root| intermediate.is_issued_by(root))
            })
    }
}

/// The MSPs of a channel, by MSP ID: every application organization and the ordering
/// organization (Fabric's channel MSP manager, F common/channelconfig/msp.go).
#[derive(Debug)]
pub struct MspManager {
    msps: BTreeMap<String, Msp>,
}

impl MspManager {
    pub fn from_config(config: &ChannelConfig) -> Result<MspManager, MspError> {
        let definitions = config
            .application
            .values()
            .map(|org| &org.msp)
            .chain(std::iter::once(&config.orderer.msp));
        let msps = definitions
            .map(|definition| Ok((definition.msp_id.clone(), Msp::new(definition)?)))
            .collect::<Result<_, MspError>>()?;
        Ok(MspManager { msps })
    }

    pub fn get(&self, msp_id: &str) -> Result<&Msp, MspError> {
        self.msps.get(msp_id).ok_or_else(|| MspError::UnknownMsp {
            msp_id: msp_id.to_string(),
        })
    }

    /// Validates `identity` with the MSP it names.
    pub fn validate(&self, identity: &SerializedIdentity) -> Result<Arc<Identity>, MspError> {
        self.get(&identity.msp_id)?.validate(identity)
    }

    /// Validates `identity` with the MSP it names and verifies its signature.
    pub fn verify(
        &self,
        identity: &SerializedIdentity,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Arc<Identity>, MspError> {
        self.get(&identity.msp_id)?
            .verify(identity, message, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::crypto::{CaKeys, KeyPair};
    use crate::fabric::cryptogen::OrgCrypto;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn org(msp_id: &str, seed: u64) -> (OrgCrypto, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (OrgCrypto::generate(msp_id, &mut rng).unwrap(), rng)
    }

    #[test]
    fn members_validate_with_their_role_and_strangers_do_not() {
        let (mut org1, mut rng) = org("Org1MSP", 1);
        let (mut org2, _) = org("Org2MSP", 2);
        let msp = Msp::new(&org1.msp_definition()).unwrap();
        let peer = org1.enroll("peer0", NodeOu::Peer, &mut rng).unwrap();
        let identity = msp.validate(&peer.serialized()).unwrap();
        assert_eq!(identity.role, Some(NodeOu::Peer));
        assert!(identity.is_peer());
        assert!(!identity.is_admin);
        // A certificate of another CA claiming this MSP ID.
        let mut forged = org2
            .enroll("peer0", NodeOu::Peer, &mut rng)
            .unwrap()
            .serialized();
        forged.msp_id = "Org1MSP".into();
        assert!(matches!(
            msp.validate(&forged),
            Err(MspError::NotIssuedByMsp { .. })
        ));
        // Asked twice: the cached answer is the same answer.
        assert!(matches!(
            msp.validate(&forged),
            Err(MspError::NotIssuedByMsp { .. })
        ));
        assert!(matches!(
            msp.validate(&org2.admin.serialized()),
            Err(MspError::UnknownMsp { .. })
        ));
        let garbage = SerializedIdentity {
            msp_id: "Org1MSP".into(),
            certificate_der: vec![1, 2, 3],
        };
        assert!(matches!(
            msp.validate(&garbage),
            Err(MspError::BadIdentityCertificate { .. })
        ));
    }

    #[test]
    fn admins_come_from_the_admin_ou_or_the_admin_list() {
        let (mut org, mut rng) = org("Org1MSP", 3);
        let listed = org.enroll("listed", NodeOu::Client, &mut rng).unwrap();
        let mut definition = org.msp_definition();
        definition.admins.push(listed.certificate.to_pem());
        let msp = Msp::new(&definition).unwrap();
        assert!(msp.validate(&org.admin.serialized()).unwrap().is_admin);
        assert!(msp.validate(&listed.serialized()).unwrap().is_admin);
        let other = org.enroll("user", NodeOu::Client, &mut rng).unwrap();
        assert!(!msp.validate(&other.serialized()).unwrap().is_admin);
        assert!(!msp.validate(&org.admin.serialized()).unwrap().is_peer());
    }

    #[test]
    fn without_node_ous_roles_are_unknown_and_every_member_may_endorse() {
        let (mut org, mut rng) = org("Org1MSP", 4);
        let mut definition = org.msp_definition();
        definition.node_ous = false;
        let msp = Msp::new(&definition).unwrap();
        let client = org.enroll("user", NodeOu::Client, &mut rng).unwrap();
        let identity = msp.validate(&client.serialized()).unwrap();
        assert_eq!(identity.role, None);
        assert!(identity.is_peer());
    }

    #[test]
    fn intermediate_chains_are_followed() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut root = CaKeys::new_root("root", "Org1MSP", &mut rng).unwrap();
        let intermediate_key = KeyPair::generate(&mut rng);
        let intermediate = root
            .issue("ica", "Org1MSP", NodeOu::Client, &intermediate_key, &[])
            .unwrap();
        // Chaining checks issuer name and signature, as hadr's MSP does, so a certificate
        // issued by the root can act as an intermediate issuer here.
        let mut ica =
            CaKeys::from_parts(&intermediate.to_pem(), &intermediate_key.to_pkcs8_pem(), 2)
                .unwrap();
        let leaf_key = KeyPair::generate(&mut rng);
        let leaf = ica
            .issue("peer0", "Org1MSP", NodeOu::Peer, &leaf_key, &[])
            .unwrap();
        let serialized = SerializedIdentity {
            msp_id: "Org1MSP".into(),
            certificate_der: leaf.der.clone(),
        };
        let mut definition = MspDefinition {
            msp_id: "Org1MSP".into(),
            root_certs: vec![root.certificate.to_pem()],
            intermediate_certs: vec![],
            admins: vec![],
            tls_root_certs: vec![],
            node_ous: true,
        };
        assert!(Msp::new(&definition)
            .unwrap()
            .validate(&serialized)
            .is_err());
        definition.intermediate_certs.push(intermediate.to_pem());
        assert!(Msp::new(&definition).unwrap().validate(&serialized).is_ok());
    }

    #[test]
    fn signatures_are_checked_against_the_identity_key() {
        let (mut org, mut rng) = org("Org1MSP", 6);
        let msp = Msp::new(&org.msp_definition()).unwrap();
        let user = org.enroll("user", NodeOu::Client, &mut rng).unwrap();
        let signature = user.sign(b"payload");
        assert!(msp
            .verify(&user.serialized(), b"payload", &signature)
            .is_ok());
        assert!(matches!(
            msp.verify(&user.serialized(), b"other", &signature),
            Err(MspError::BadSignature { .. })
        ));
        let bad = MspDefinition {
            root_certs: vec!["not pem".into()],
            ..org.msp_definition()
        };
        assert!(matches!(
            Msp::new(&bad),
            Err(MspError::BadMspCertificate { .. })
        ));
    }
}
