//! What Fabric's default channel policies amount to for hadr's channels, as functions.
//!
//! Fabric evaluates policies from the channel config tree (F common/policies,
//! common/cauthdsl, sampleconfig/configtx.yaml); hadr's channels always carry the defaults,
//! so each policy is one function here:
//! - Writers (/Channel/Writers = ANY Writers of Application and Orderer; each org's Writers
//!   is `OR('<org>.member')` in sampleconfig): a valid signature by any member of any
//!   channel organization, application or ordering; what the ordering service checks.
//! - Application Writers and Readers (/Channel/Application/Writers, /Readers): the same
//!   without the ordering organization; what peers check proposals and queries against
//!   (F core/aclmgmt/defaultaclprovider.go: peer/Propose, qscc, _lifecycle).
//! - An organization's Admins (`OR('<org>.admin')`): a valid signature by an admin of that
//!   organization.
//! - Endorsement (/Channel/Application/Endorsement = `MAJORITY Endorsement`, each org's
//!   Endorsement `OR('<org>.peer')` in fabric-samples' test network): valid peer endorsements
//!   from more than half of the application organizations (with two: both), each
//!   organization counted once however many of its peers endorsed.
//!
//! Like Fabric's signature-set evaluation (F common/policies/policy.go SignatureSetToValidIdentities),
//! a signature that does not verify or an identity that does not validate is dropped and the
//! rest is evaluated; the error then lists what was dropped and why.

use super::crypto::{NodeOu, SerializedIdentity};
use super::endorsement_policy::{Role, Signer};
use super::msp::{Identity, MspError, MspManager};
use super::types::{ConfigSignature, Endorsement};
use std::collections::BTreeSet;
use std::sync::Arc;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("Writers policy not satisfied: {0}")]
    NotAWriter(MspError),
    #[error("Application Writers policy not satisfied: {msp_id} is not an application organization of the channel")]
    NotInApplication { msp_id: String },
    #[error("Admins policy of {msp_id} not satisfied: no valid signature by one of its admins (rejected: {rejected:?})")]
    NoAdminSignature {
        msp_id: String,
        rejected: Vec<String>,
    },
    #[error("endorsement policy not satisfied: {required} of {organizations} organizations must endorse, endorsed by {endorsed_by:?} (rejected endorsements: {rejected:?})")]
    NotEnoughEndorsingOrgs {
        required: usize,
        organizations: usize,
        endorsed_by: Vec<String>,
        rejected: Vec<String>,
    },
    #[error("/Channel/Application/Admins (MAJORITY Admins) not satisfied: {required} of the {organizations} application organizations' admins must sign, signed by {signed_by:?}")]
    NotEnoughAdmins {
        required: usize,
        organizations: usize,
        signed_by: Vec<String>,
    },
    #[error("endorsement policy not satisfied: no valid peer endorsement of {msp_id} (endorsed by {endorsed_by:?}, rejected endorsements: {rejected:?})")]
    MissingOrgEndorsement {
        msp_id: String,
        endorsed_by: Vec<String>,
        rejected: Vec<String>,
    },
}

/// Fabric's MAJORITY rule (F common/policies/implicitmeta.go): more than half.
pub fn majority(organizations: usize) -> usize {
    organizations / 2 + 1
}

/// The Writers policy: `creator` is a valid member of a channel organization and signed
/// `message`. Returns the validated identity.
pub fn check_writers(
    msps: &MspManager,
    creator: &SerializedIdentity,
    message: &[u8],
    signature: &[u8],
) -> Result<Arc<Identity>, PolicyError> {
    msps.verify(creator, message, signature)
        .map_err(PolicyError::NotAWriter)
}

/// The application Writers (and Readers) policy: `creator` is a valid member of an
/// application organization and, when `signed` is given, signed its message.
pub fn check_application_writers(
    msps: &MspManager,
    is_application_org: impl Fn(&str) -> bool,
    creator: &SerializedIdentity,
    signed: Option<(&[u8], &[u8])>,
) -> Result<Arc<Identity>, PolicyError> {
    let identity = match signed {
        Some((message, signature)) => msps.verify(creator, message, signature),
        None => msps.validate(creator),
    }
    .map_err(PolicyError::NotAWriter)?;
    if is_application_org(&identity.msp_id) {
        Ok(identity)
    } else {
        Err(PolicyError::NotInApplication {
            msp_id: identity.msp_id.clone(),
        })
    }
}

/// The Admins policy of `msp_id`: one of `signatures` over `message` is by an admin of it.
pub fn check_org_admins(
    msps: &MspManager,
    msp_id: &str,
    message: &[u8],
    signatures: &[ConfigSignature],
) -> Result<(), PolicyError> {
    let mut rejected = Vec::new();
    for signature in signatures {
        match msps.verify(&signature.signer, message, &signature.signature) {
            Ok(identity) if identity.msp_id == msp_id && identity.is_admin => return Ok(()),
            Ok(identity) => rejected.push(format!(
                "{} ({}) is not an admin of {msp_id}",
                identity.certificate.common_name, identity.msp_id
            )),
            Err(error) => rejected.push(error.to_string()),
        }
    }
    Err(PolicyError::NoAdminSignature {
        msp_id: msp_id.to_string(),
        rejected,
    })
}

/// /Channel/Application/Admins, v2.5's default (sampleconfig/configtx.yaml: ImplicitMeta
/// MAJORITY Admins), the mod_policy of the Application group: a majority of the application
/// organizations' Admins policies. With no application organization yet, implicitmeta.go
/// sets the threshold to 0 and any signer passes.
pub fn check_application_admins<'a>(
    msps: &MspManager,
    organizations: impl IntoIterator<Item = &'a String>,
    message: &[u8],
    signatures: &[ConfigSignature],
) -> Result<(), PolicyError> {
    let organizations: Vec<&String> = organizations.into_iter().collect();
    let signed_by: Vec<String> = organizations
        .iter()
        .filter(|msp_id| check_org_admins(msps, msp_id, message, signatures).is_ok())
        .map(|msp_id| msp_id.to_string())
        .collect();
    let required = if organizations.is_empty() {
        0
    } else {
        majority(organizations.len())
    };
    if signed_by.len() >= required {
        return Ok(());
    }
    Err(PolicyError::NotEnoughAdmins {
        required,
        organizations: organizations.len(),
        signed_by,
    })
}

/// Which organizations endorse a transaction's writes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EndorsementRequirement {
    /// /Channel/Application/Endorsement: a majority of the application organizations.
    Majority,
    /// One organization's own Endorsement policy (its lifecycle approvals).
    Org(String),
}

/// The application organizations that validly endorsed a response payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndorsementTally {
    pub endorsed_by: BTreeSet<String>,
    /// The valid endorsing identities, for a signature policy.
    pub signers: Vec<Signer>,
    /// Why each dropped endorsement was dropped.
    pub rejected: Vec<String>,
}

/// `identity` as an endorsement policy sees it: its MSP, roles and certificate.
pub fn signer(identity: &Identity) -> Signer {
    let mut roles = BTreeSet::from([Role::Member]);
    match identity.role {
        Some(NodeOu::Peer) => roles.insert(Role::Peer),
        Some(NodeOu::Client) => roles.insert(Role::Client),
        Some(NodeOu::Admin) => roles.insert(Role::Admin),
        Some(NodeOu::Orderer) => roles.insert(Role::Orderer),
        None => false,
    };
    if identity.is_admin {
        roles.insert(Role::Admin);
    }
    Signer {
        msp_id: identity.msp_id.clone(),
        roles,
        id: identity.certificate.der.clone(),
    }
}

impl EndorsementTally {
    /// Checks every endorsement of `response_payload`: the endorser validates in its MSP,
    /// that MSP is an application organization, the endorser is a peer, and the signature
    /// over `Endorsement::signed_bytes` verifies.
    pub fn count(
        msps: &MspManager,
        is_application_org: impl Fn(&str) -> bool,
        response_payload: &[u8],
        endorsements: &[Endorsement],
    ) -> EndorsementTally {
        let mut tally = EndorsementTally::default();
        for endorsement in endorsements {
            let endorser = &endorsement.endorser;
            if !is_application_org(&endorser.msp_id) {
                tally.rejected.push(format!(
                    "{} is not an application organization of the channel",
                    endorser.msp_id
                ));
                continue;
            }
            let message = Endorsement::signed_bytes(response_payload, endorser);
            match msps.verify(endorser, &message, &endorsement.signature) {
                Ok(identity) if identity.is_peer() => {
                    tally.endorsed_by.insert(identity.msp_id.clone());
                    tally.signers.push(signer(&identity));
                }
                Ok(identity) => tally.rejected.push(format!(
                    "{} ({}) is not a peer",
                    identity.certificate.common_name, identity.msp_id
                )),
                Err(error) => tally.rejected.push(error.to_string()),
            }
        }
        tally
    }

    pub fn check(
        &self,
        requirement: &EndorsementRequirement,
        application_orgs: usize,
    ) -> Result<(), PolicyError> {
        let endorsed_by = || self.endorsed_by.iter().cloned().collect();
        match requirement {
            EndorsementRequirement::Majority => {
                let required = majority(application_orgs);
                if self.endorsed_by.len() >= required {
                    Ok(())
                } else {
                    Err(PolicyError::NotEnoughEndorsingOrgs {
                        required,
                        organizations: application_orgs,
                        endorsed_by: endorsed_by(),
                        rejected: self.rejected.clone(),
                    })
                }
            }
            EndorsementRequirement::Org(msp_id) => {
                if self.endorsed_by.contains(msp_id) {
                    Ok(())
                } else {
                    Err(PolicyError::MissingOrgEndorsement {
                        msp_id: msp_id.clone(),
                        endorsed_by: endorsed_by(),
                        rejected: self.rejected.clone(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use crate::fabric::crypto::{NodeOu, SigningIdentity};
    use crate::fabric::cryptogen::OrgCrypto;
    use crate::fabric::types::Endpoint;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    struct Fixture {
        msps: MspManager,
        orgs: Vec<OrgCrypto>,
        peers: Vec<SigningIdentity>,
        client: SigningIdentity,
        orderer_admin: SigningIdentity,
    }

    fn fixture(application_orgs: usize) -> Fixture {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let orderer = orderer_org
            .enroll("orderer0", NodeOu::Orderer, &mut rng)
            .unwrap();
        let mut orgs: Vec<OrgCrypto> = (1..=application_orgs)
            .map(|i| OrgCrypto::generate(&format!("Org{i}MSP"), &mut rng).unwrap())
            .collect();
        let peers = orgs
            .iter_mut()
            .map(|org| org.enroll("peer0", NodeOu::Peer, &mut rng).unwrap())
            .collect();
        let client = orgs[0].enroll("user1", NodeOu::Client, &mut rng).unwrap();
        let endpoint = Endpoint {
            host: "orderer0".into(),
            port: 7050,
        };
        let members: Vec<&OrgCrypto> = orgs.iter().collect();
        let ordering = FabricConfig::default().ordering;
        let config =
            orderer_org.channel_config("channel1", &[(endpoint, &orderer)], &members, &ordering);
        Fixture {
            msps: MspManager::from_config(&config).unwrap(),
            orgs,
            peers,
            client,
            orderer_admin: orderer_org.admin,
        }
    }

    fn endorse(peer: &SigningIdentity, payload: &[u8]) -> Endorsement {
        let endorser = peer.serialized();
        Endorsement {
            signature: peer.sign(&Endorsement::signed_bytes(payload, &endorser)),
            endorser,
        }
    }

    fn is_app(msp_id: &str) -> bool {
        msp_id.starts_with("Org")
    }

    #[test]
    fn majority_is_more_than_half() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(2), 2);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
    }

    #[test]
    fn writers_are_members_of_any_channel_org() {
        let f = fixture(2);
        let signature = f.client.sign(b"tx");
        assert!(check_writers(&f.msps, &f.client.serialized(), b"tx", &signature).is_ok());
        let signature = f.orderer_admin.sign(b"tx");
        assert!(check_writers(&f.msps, &f.orderer_admin.serialized(), b"tx", &signature).is_ok());
        assert!(matches!(
            check_writers(&f.msps, &f.client.serialized(), b"other", &signature),
            Err(PolicyError::NotAWriter(MspError::BadSignature { .. }))
        ));
        let mut stranger = f.client.serialized();
        stranger.msp_id = "Org9MSP".into();
        assert!(matches!(
            check_writers(&f.msps, &stranger, b"tx", &signature),
            Err(PolicyError::NotAWriter(MspError::UnknownMsp { .. }))
        ));
    }

    #[test]
    fn application_writers_exclude_the_ordering_org() {
        let f = fixture(2);
        let signature = f.client.sign(b"proposal");
        let signed = Some((&b"proposal"[..], &signature[..]));
        let client = f.client.serialized();
        assert!(check_application_writers(&f.msps, is_app, &client, signed).is_ok());
        assert!(check_application_writers(&f.msps, is_app, &client, None).is_ok());
        let wrong = Some((&b"other"[..], &signature[..]));
        assert!(matches!(
            check_application_writers(&f.msps, is_app, &client, wrong),
            Err(PolicyError::NotAWriter(_))
        ));
        let orderer_admin = f.orderer_admin.serialized();
        assert!(matches!(
            check_application_writers(&f.msps, is_app, &orderer_admin, None),
            Err(PolicyError::NotInApplication { .. })
        ));
    }

    #[test]
    fn org_admins_need_an_admin_of_that_org() {
        let f = fixture(2);
        let sign = |identity: &SigningIdentity| ConfigSignature {
            signer: identity.serialized(),
            signature: identity.sign(b"update"),
        };
        let org1_admin = sign(&f.orgs[0].admin);
        let org2_admin = sign(&f.orgs[1].admin);
        assert!(check_org_admins(
            &f.msps,
            "Org1MSP",
            b"update",
            &[org2_admin.clone(), org1_admin]
        )
        .is_ok());
        let error = check_org_admins(
            &f.msps,
            "Org1MSP",
            b"update",
            &[org2_admin, sign(&f.client)],
        );
        assert!(
            matches!(error, Err(PolicyError::NoAdminSignature { ref rejected, .. }) if rejected.len() == 2)
        );
        let forged = ConfigSignature {
            signer: f.orgs[0].admin.serialized(),
            signature: f.client.sign(b"update"),
        };
        assert!(check_org_admins(&f.msps, "Org1MSP", b"update", &[forged]).is_err());
    }

    #[test]
    fn endorsements_count_valid_peers_once_per_org() {
        let f = fixture(3);
        let payload = b"response";
        let both = [endorse(&f.peers[0], payload), endorse(&f.peers[1], payload)];
        let tally = EndorsementTally::count(&f.msps, is_app, payload, &both);
        assert!(tally.check(&EndorsementRequirement::Majority, 3).is_ok());
        assert!(tally
            .check(&EndorsementRequirement::Org("Org2MSP".into()), 3)
            .is_ok());
        assert!(tally
            .check(&EndorsementRequirement::Org("Org3MSP".into()), 3)
            .is_err());

        // The same org twice is one org.
        let twice = [endorse(&f.peers[0], payload), endorse(&f.peers[0], payload)];
        let tally = EndorsementTally::count(&f.msps, is_app, payload, &twice);
        assert!(matches!(
            tally.check(&EndorsementRequirement::Majority, 3),
            Err(PolicyError::NotEnoughEndorsingOrgs { required: 2, .. })
        ));

        // A forged signature, a client, and a signature over another payload are dropped.
        let mut forged = endorse(&f.peers[0], payload);
        forged.endorser = f.peers[1].serialized();
        let client = endorse(&f.client, payload);
        let other = endorse(&f.peers[2], b"other response");
        let tally = EndorsementTally::count(&f.msps, is_app, payload, &[forged, client, other]);
        assert!(tally.endorsed_by.is_empty());
        assert_eq!(tally.rejected.len(), 3);
        assert!(tally.rejected[1].contains("not a peer"));
    }

    #[test]
    fn orderer_org_endorsements_do_not_count() {
        let f = fixture(1);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let orderer_peer = orderer_org.enroll("x", NodeOu::Peer, &mut rng).unwrap();
        let tally = EndorsementTally::count(&f.msps, is_app, b"p", &[endorse(&orderer_peer, b"p")]);
        assert!(tally.endorsed_by.is_empty());
        assert!(tally.rejected[0].contains("not an application organization"));
    }
}
