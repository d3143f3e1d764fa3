//! The fabric-ca server, the REST subset the console and the runbook use: `GET /cainfo`,
//! `POST /api/v1/enroll`, `POST /api/v1/register` and `/api/v1/identities` (register and
//! list). As IBP deploys it, one server holds two CAs selected by name: `ca` (enrollment
//! certificates) and `tlsca` (TLS certificates).
//!
//! `CaServer` is the sans-IO core: requests in, answers out, no clock, no sockets, all
//! randomness from its persisted seed. `server` serves it over HTTP with fabric-ca's
//! response envelope, `client` speaks to it, `token` is fabric-ca's token authentication.
//! The state (`CaState`) is plain data, saved after every change so a restarted CA node
//! comes back with its keys, registrations and enrollment counts.

pub mod client;
pub mod server;
pub mod token;

use crate::console::api::{CaConfig, RegistryIdentity};
use crate::fabric::crypto::{sha256, CaKeys, Certificate, CryptoError, NodeOu};
use crate::secret::Secret;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What fabric-ca 1.5 reports as its version.
pub const FABRIC_CA_VERSION: &str = "1.5.7";

/// fabric-ca's error codes (lib/caerrors/servererror.go) the subset answers with.
pub mod codes {
    pub const NO_AUTH_HEADER: u32 = 2;
    pub const BAD_REQUEST_BODY: u32 = 5;
    pub const CA_NOT_FOUND: u32 = 19;
    pub const AUTHENTICATION_FAILURE: u32 = 20;
    pub const AUTHORIZATION_FAILURE: u32 = 71;
    pub const BAD_CSR: u32 = 31;
    pub const DUPLICATE_IDENTITY: u32 = 74;
}

/// A failed request: HTTP status, fabric-ca code and the message the caller sees.
/// Authentication and authorization failures answer fabric-ca's generic remote message
/// (caerrors.NewAuthenticationErr / NewAuthorizationErr); the detail stays local.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fabric-ca answered {status} (code {code}): {message}")]
pub struct CaError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl CaError {
    fn new(status: u16, code: u32, message: impl Into<String>) -> CaError {
        CaError {
            status,
            code,
            message: message.into(),
        }
    }

    fn authentication() -> CaError {
        CaError::new(401, codes::AUTHENTICATION_FAILURE, "Authentication failure")
    }

    fn authorization() -> CaError {
        CaError::new(403, codes::AUTHORIZATION_FAILURE, "Authorization failure")
    }
}

/// A registered identity. The secret is kept hashed, as fabric-ca keeps it (bcrypt there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredIdentity {
    pub id: String,
    #[serde(rename = "type")]
    pub identity_type: String,
    pub affiliation: String,
    pub attrs: BTreeMap<String, String>,
    /// -1 for unlimited.
    pub max_enrollments: i64,
    /// Successful enrollments so far (fabric-ca's `state`).
    pub enrollments: i64,
    secret_hash: [u8; 32],
}

fn hash_secret(id: &str, secret: &str) -> [u8; 32] {
    sha256(format!("{id}\0{secret}").as_bytes())
}

/// One CA of the server: its keys and its registry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaInstanceState {
    pub name: String,
    pub organization: String,
    pub certificate_pem: String,
    pub key_pem: Secret,
    pub next_serial: u64,
    /// The CA-wide `registry.maxenrollments` (-1 unlimited, 0 enrollment disabled).
    pub max_enrollments: i64,
    pub registry: BTreeMap<String, RegisteredIdentity>,
}

/// Everything a CA node keeps on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaState {
    pub cas: BTreeMap<String, CaInstanceState>,
    /// Seeds secrets the CA generates for registrations without one.
    pub secret_seed: Secret,
    pub generated_secrets: u64,
}

/// fabric-ca's default attributes for a bootstrap identity (cmd/fabric-ca-server/config.go).
fn bootstrap_attrs() -> BTreeMap<String, String> {
    [
        ("hf.Registrar.Roles", "*"),
        ("hf.Registrar.DelegateRoles", "*"),
        ("hf.Revoker", "true"),
        ("hf.IntermediateCA", "true"),
        ("hf.GenCRL", "true"),
        ("hf.Registrar.Attributes", "*"),
        ("hf.AffiliationMgr", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn attr_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A register request (fabric-ca api.RegistrationRequest).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRequest {
    pub id: String,
    #[serde(rename = "type", default = "client_type")]
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_enrollments: i64,
    #[serde(default)]
    pub affiliation: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caname: Option<String>,
}

fn client_type() -> String {
    "client".into()
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

/// The role an enrollment certificate carries, from the registered type.
pub fn role_for_type(identity_type: &str) -> NodeOu {
    match identity_type {
        "peer" => NodeOu::Peer,
        "orderer" => NodeOu::Orderer,
        "admin" => NodeOu::Admin,
        _ => NodeOu::Client,
    }
}

/// The two CAs of a CA node.
pub struct CaServer {
    cas: BTreeMap<String, (CaKeys, CaInstanceState)>,
    secret_seed: Secret,
    generated_secrets: u64,
}

impl std::fmt::Debug for CaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaServer")
            .field("cas", &self.cas.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CaServer {
    /// A new CA node as the console's CreateCaBody describes it: an enrollment CA `ca` and
    /// a TLS CA `tlsca` (`config_override.tlsca` defaults to `config_override.ca`), each
    /// with its bootstrap identities, keys from `rng`.
    pub fn new(
        organization: &str,
        ca: &CaConfig,
        tlsca: Option<&CaConfig>,
        rng: &mut impl RngCore,
    ) -> Result<CaServer, CryptoError> {
        let mut cas = BTreeMap::new();
        for (name, config) in [("ca", ca), ("tlsca", tlsca.unwrap_or(ca))] {
            let keys = CaKeys::new_root(&format!("{name}.{organization}"), organization, rng)?;
            let registry = config
                .registry
                .identities
                .iter()
                .map(|identity| (identity.name.clone(), bootstrap_identity(identity, config)))
                .collect();
            let state = CaInstanceState {
                name: name.to_string(),
                organization: organization.to_string(),
                certificate_pem: keys.certificate.to_pem(),
                key_pem: Secret::new(keys.key_pem()),
                next_serial: keys.next_serial(),
                max_enrollments: config.registry.maxenrollments,
                registry,
            };
            cas.insert(name.to_string(), (keys, state));
        }
        let mut seed = [0u8; 16];
        rng.fill_bytes(&mut seed);
        Ok(CaServer {
            cas,
            secret_seed: Secret::new(hex::encode(seed)),
            generated_secrets: 0,
        })
    }

    /// A CA node restarted from its saved state.
    pub fn restore(state: CaState) -> Result<CaServer, CryptoError> {
        let mut cas = BTreeMap::new();
        for (name, instance) in state.cas {
            let keys = CaKeys::from_parts(
                &instance.certificate_pem,
                instance.key_pem.expose(),
                instance.next_serial,
            )?;
            cas.insert(name, (keys, instance));
        }
        Ok(CaServer {
            cas,
            secret_seed: state.secret_seed,
            generated_secrets: state.generated_secrets,
        })
    }

    /// What to save after every change.
    pub fn state(&self) -> CaState {
        CaState {
            cas: self
                .cas
                .iter()
                .map(|(name, (keys, instance))| {
                    let mut instance = instance.clone();
                    instance.next_serial = keys.next_serial();
                    (name.clone(), instance)
                })
                .collect(),
            secret_seed: self.secret_seed.clone(),
            generated_secrets: self.generated_secrets,
        }
    }

    /// The CA named `caname`, the enrollment CA `ca` when empty (fabric-ca's default CA).
    fn instance(
        &mut self,
        caname: Option<&str>,
    ) -> Result<&mut (CaKeys, CaInstanceState), CaError> {
        let name = caname.filter(|n| !n.is_empty()).unwrap_or("ca");
        self.cas.get_mut(name).ok_or_else(|| {
            CaError::new(
                404,
                codes::CA_NOT_FOUND,
                format!("CA '{name}' does not exist"),
            )
        })
    }

    pub fn certificate(&mut self, caname: Option<&str>) -> Result<Certificate, CaError> {
        Ok(self.instance(caname)?.0.certificate.clone())
    }

    /// `GET /cainfo`: name, chain (a root CA: its own certificate) and version.
    pub fn info(&mut self, caname: Option<&str>) -> Result<CaInfo, CaError> {
        let (keys, instance) = self.instance(caname)?;
        Ok(CaInfo {
            ca_name: instance.name.clone(),
            ca_chain: crate::console::files::b64_pem(&keys.certificate.to_pem()),
            issuer_public_key: String::new(),
            issuer_revocation_public_key: String::new(),
            version: FABRIC_CA_VERSION.into(),
        })
    }

    /// `POST /api/v1/enroll`: checks id and secret (lib/server/user/user.go `Login`, with
    /// the CA's and the identity's max enrollments), then signs the CSR with the role of
    /// the registered type. The common name is the enrollment id, as fabric-ca sets it.
    pub fn enroll(
        &mut self,
        caname: Option<&str>,
        id: &str,
        secret: &str,
        csr_pem: &str,
    ) -> Result<Certificate, CaError> {
        let (keys, instance) = self.instance(caname)?;
        if instance.max_enrollments == 0 {
            return Err(CaError::authentication()); // enroll is disabled
        }
        let ca_max = instance.max_enrollments;
        let organization = instance.organization.clone();
        let identity = instance
            .registry
            .get_mut(id)
            .ok_or_else(CaError::authentication)?;
        if identity.secret_hash != hash_secret(id, secret) {
            return Err(CaError::authentication());
        }
        let mut max = identity.max_enrollments;
        if ca_max != -1 && (max > ca_max || max == -1) {
            max = ca_max;
        }
        if max != -1 && identity.enrollments >= max {
            return Err(CaError::authentication());
        }
        let role = role_for_type(&identity.identity_type);
        let certificate = keys
            .issue_for_csr(csr_pem, id, &organization, role)
            .map_err(|e| {
                CaError::new(
                    400,
                    codes::BAD_CSR,
                    format!("Invalid certificate request: {e}"),
                )
            })?;
        identity.enrollments += 1;
        Ok(certificate)
    }

    /// The registered identity behind a valid token's certificate, if this CA issued it.
    pub fn caller(
        &mut self,
        caname: Option<&str>,
        certificate: &Certificate,
    ) -> Result<RegisteredIdentity, CaError> {
        let (keys, instance) = self.instance(caname)?;
        if !certificate.is_issued_by(&keys.certificate) {
            return Err(CaError::authentication());
        }
        instance
            .registry
            .get(&certificate.common_name)
            .cloned()
            .ok_or_else(CaError::authentication)
    }

    /// `POST /api/v1/register` by `registrar` (already authenticated by token): the
    /// registrar's `hf.Registrar.Roles` must allow the type; answers the secret, generated
    /// when the request has none.
    pub fn register(
        &mut self,
        registrar: &RegisteredIdentity,
        request: &RegistrationRequest,
    ) -> Result<Secret, CaError> {
        let roles = registrar
            .attrs
            .get("hf.Registrar.Roles")
            .cloned()
            .unwrap_or_default();
        // An empty type registers a client (fabric-ca's `def:"client"`).
        let identity_type = if request.identity_type.is_empty() {
            "client"
        } else {
            request.identity_type.as_str()
        };
        let allowed = roles == "*"
            || roles
                .split(',')
                .map(str::trim)
                .any(|role| !role.is_empty() && role == identity_type);
        if !allowed {
            return Err(CaError::authorization());
        }
        let secret = match &request.secret {
            Some(secret) if !secret.is_empty() => secret.clone(),
            _ => self.generate_secret(&request.id),
        };
        let (_, instance) = self.instance(request.caname.as_deref())?;
        if instance.registry.contains_key(&request.id) {
            return Err(CaError::new(
                409,
                codes::DUPLICATE_IDENTITY,
                format!("Identity '{}' is already registered", request.id),
            ));
        }
        let max_enrollments = if request.max_enrollments == 0 {
            instance.max_enrollments
        } else {
            request.max_enrollments
        };
        instance.registry.insert(
            request.id.clone(),
            RegisteredIdentity {
                id: request.id.clone(),
                identity_type: identity_type.to_string(),
                affiliation: request.affiliation.clone(),
                attrs: request
                    .attrs
                    .iter()
                    .map(|a| (a.name.clone(), a.value.clone()))
                    .collect(),
                max_enrollments,
                enrollments: 0,
                secret_hash: hash_secret(&request.id, secret.expose()),
            },
        );
        Ok(secret)
    }

    /// `GET /api/v1/identities`: every registered identity, for a registrar.
    pub fn identities(&mut self, caname: Option<&str>) -> Result<Vec<RegisteredIdentity>, CaError> {
        Ok(self
            .instance(caname)?
            .1
            .registry
            .values()
            .cloned()
            .collect())
    }

    /// A secret for a registration without one: 12 characters, as util.RandomString(12)
    /// in fabric-ca, derived from the CA's secret seed.
    fn generate_secret(&mut self, id: &str) -> Secret {
        self.generated_secrets += 1;
        let digest = sha256(
            format!(
                "{}\0{id}\0{}",
                self.secret_seed.expose(),
                self.generated_secrets
            )
            .as_bytes(),
        );
        Secret::new(hex::encode(digest)[..12].to_string())
    }
}

fn bootstrap_identity(identity: &RegistryIdentity, config: &CaConfig) -> RegisteredIdentity {
    let attrs = if identity.attrs.is_empty() {
        bootstrap_attrs()
    } else {
        identity
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect()
    };
    RegisteredIdentity {
        id: identity.name.clone(),
        identity_type: identity.identity_type.clone(),
        affiliation: identity.affiliation.clone().unwrap_or_default(),
        attrs,
        max_enrollments: identity
            .maxenrollments
            .unwrap_or(config.registry.maxenrollments),
        enrollments: 0,
        secret_hash: hash_secret(&identity.name, identity.pass.expose()),
    }
}

/// `GET /cainfo` result (fabric-ca api.CAInfoResponseNet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaInfo {
    #[serde(rename = "CAName")]
    pub ca_name: String,
    /// Base64 of the PEM chain.
    #[serde(rename = "CAChain")]
    pub ca_chain: String,
    #[serde(rename = "IssuerPublicKey", default)]
    pub issuer_public_key: String,
    #[serde(rename = "IssuerRevocationPublicKey", default)]
    pub issuer_revocation_public_key: String,
    #[serde(rename = "Version")]
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::api::Registry;
    use crate::fabric::crypto::{certificate_signing_request, KeyPair};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    pub(crate) fn config(admin_max: Option<i64>) -> CaConfig {
        CaConfig {
            registry: Registry {
                maxenrollments: -1,
                identities: vec![RegistryIdentity {
                    name: "admin".into(),
                    pass: Secret::new("adminpw"),
                    identity_type: "client".into(),
                    maxenrollments: admin_max,
                    affiliation: None,
                    attrs: BTreeMap::new(),
                }],
            },
        }
    }

    fn csr(rng: &mut ChaCha8Rng, cn: &str) -> (KeyPair, String) {
        let key = KeyPair::generate(rng);
        let csr = certificate_signing_request(&key, cn, &[]).unwrap();
        (key, csr)
    }

    #[test]
    fn enroll_honours_secret_and_max_enrollments() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut ca = CaServer::new("Org1", &config(Some(1)), None, &mut rng).unwrap();
        let (key, request) = csr(&mut rng, "admin");
        assert_eq!(
            ca.enroll(None, "admin", "wrong", &request)
                .unwrap_err()
                .status,
            401
        );
        let cert = ca.enroll(None, "admin", "adminpw", &request).unwrap();
        assert_eq!(cert.public_key, key.public_key());
        assert_eq!(cert.common_name, "admin");
        assert!(cert.is_issued_by(&ca.certificate(Some("ca")).unwrap()));
        // Single use: the second enrollment is refused.
        assert_eq!(
            ca.enroll(None, "admin", "adminpw", &request).unwrap_err(),
            CaError::authentication()
        );
        // The TLS CA has its own registry, keys and counts.
        let tls = ca
            .enroll(Some("tlsca"), "admin", "adminpw", &request)
            .unwrap();
        assert!(tls.is_issued_by(&ca.certificate(Some("tlsca")).unwrap()));
        assert!(!tls.is_issued_by(&ca.certificate(Some("ca")).unwrap()));
        assert_eq!(ca.info(Some("nope")).unwrap_err().status, 404);
    }

    #[test]
    fn register_needs_registrar_roles_and_refuses_duplicates() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut ca = CaServer::new("Org1", &config(None), None, &mut rng).unwrap();
        let admin = ca.identities(None).unwrap().remove(0);
        let request = RegistrationRequest {
            id: "peer1".into(),
            identity_type: "peer".into(),
            ..Default::default()
        };
        let secret = ca.register(&admin, &request).unwrap();
        assert_eq!(secret.expose().len(), 12);
        assert_eq!(ca.register(&admin, &request).unwrap_err().status, 409);
        let (_, csr_pem) = csr(&mut rng, "peer1");
        let cert = ca.enroll(None, "peer1", secret.expose(), &csr_pem).unwrap();
        assert_eq!(cert.role(), Some(NodeOu::Peer));
        // A peer cannot register anyone.
        let peer = ca.caller(None, &cert).unwrap();
        let other = RegistrationRequest {
            id: "user1".into(),
            ..Default::default()
        };
        assert_eq!(ca.register(&peer, &other).unwrap_err().status, 403);
    }

    #[test]
    fn a_restored_ca_keeps_keys_registrations_and_counts() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut ca = CaServer::new("Org1", &config(Some(2)), None, &mut rng).unwrap();
        let (_, request) = csr(&mut rng, "admin");
        let first = ca.enroll(None, "admin", "adminpw", &request).unwrap();
        let saved = serde_json::to_string(&ca.state()).unwrap();
        assert!(!saved.contains("adminpw"), "secrets are kept hashed");
        let mut restored = CaServer::restore(serde_json::from_str(&saved).unwrap()).unwrap();
        let second = restored.enroll(None, "admin", "adminpw", &request).unwrap();
        assert!(second.is_issued_by(&ca.certificate(None).unwrap()));
        assert_ne!(first.der, second.der, "serial numbers continue");
        assert!(restored.enroll(None, "admin", "adminpw", &request).is_err());
        assert!(!format!("{:?}", ca.state()).contains("PRIVATE KEY"));
    }
}
