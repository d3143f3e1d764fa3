//! Identities as Fabric has them: X.509 certificates over ECDSA P-256 keys, issued by an
//! organization's CA, with Fabric's NodeOU roles (client, peer, admin, orderer) in the
//! subject's OU.
//!
//! Determinism: keys come from the scenario's seeded RNG, and signatures use ring's ECDSA
//! with a nonce hedged over a fixed input, so the nonce is a function of the private key and
//! the message digest (the idea of RFC 6979). The same seed therefore gives byte-identical
//! certificates, transactions and block hashes. ring offers no other way to supply that
//! input than its `test::rand` types; RustCrypto's p256 signs deterministically but about
//! ten times slower on this machine (research/rust-ecosystem.md), which the simulation
//! cannot afford at 20 tx/s.
//!
//! Verification is always real. `verify` keeps a cache keyed by (public key, message
//! digest, signature): every peer checks the same signatures, and the cached answer is the
//! answer the check gave. Each new signature is also checked at once on a worker thread
//! (`prefetch`), so verification runs on the second core while the simulation runs on the
//! first.
#![allow(deprecated)] // ring::test::rand, see above

use rand::RngCore;
use ring::digest::{digest, SHA256};
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};
use rustc_hash::FxHashMap as HashMap;
use std::sync::{mpsc, Condvar, Mutex, OnceLock};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CryptoError {
    #[error("not a PEM-encoded {0}")]
    NotPem(&'static str),
    #[error("the private key is not a PKCS#8 ECDSA P-256 key: {0}")]
    BadKey(String),
    #[error("the certificate cannot be parsed: {0}")]
    BadCertificate(String),
    #[error("certificate issuing failed: {0}")]
    Issue(String),
}

/// The fixed input that makes ring's hedged nonce deterministic (see the module comment).
fn nonce_input() -> ring::test::rand::FixedByteRandom {
    ring::test::rand::FixedByteRandom { byte: 0x48 }
}

/// An ECDSA P-256 key pair.
pub struct KeyPair {
    pkcs8: Vec<u8>,
    signer: EcdsaKeyPair,
}

impl KeyPair {
    /// A new key from the seeded RNG.
    pub fn generate(rng: &mut impl RngCore) -> KeyPair {
        loop {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let input = ring::test::rand::FixedSliceRandom { bytes: &seed };
            // A seed at or above the group order is refused (probability about 2^-32).
            if let Ok(pkcs8) = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &input)
            {
                return KeyPair::from_pkcs8_der(pkcs8.as_ref()).expect("ring made this key");
            }
        }
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<KeyPair, CryptoError> {
        let signer = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &nonce_input())
            .map_err(|e| CryptoError::BadKey(e.to_string()))?;
        Ok(KeyPair {
            pkcs8: der.to_vec(),
            signer,
        })
    }

    pub fn from_pkcs8_pem(text: &str) -> Result<KeyPair, CryptoError> {
        let block = pem::parse(text).map_err(|_| CryptoError::NotPem("private key"))?;
        KeyPair::from_pkcs8_der(block.contents())
    }

    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }

    /// The uncompressed SEC1 public point (65 bytes), as it appears in certificates.
    pub fn public_key(&self) -> &[u8] {
        self.signer.public_key().as_ref()
    }

    /// An ASN.1 DER ECDSA signature over SHA-256 of `message`, as Fabric's BCCSP makes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature = self
            .signer
            .sign(&nonce_input(), message)
            .expect("ECDSA signing with a valid key does not fail")
            .as_ref()
            .to_vec();
        prefetch(self.public_key(), message, &signature);
        signature
    }
}

impl Clone for KeyPair {
    fn clone(&self) -> KeyPair {
        KeyPair::from_pkcs8_der(&self.pkcs8).expect("this key was parsed from these bytes")
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        write!(
            f,
            "KeyPair(public {})",
            hex::encode(&self.public_key()[..8])
        )
    }
}

impl rcgen::PublicKeyData for KeyPair {
    fn der_bytes(&self) -> &[u8] {
        self.public_key()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for KeyPair {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(KeyPair::sign(self, msg))
    }
}

/// Fabric's NodeOU roles, carried in the certificate subject's OU.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NodeOu {
    Client,
    Peer,
    Admin,
    Orderer,
}

impl NodeOu {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeOu::Client => "client",
            NodeOu::Peer => "peer",
            NodeOu::Admin => "admin",
            NodeOu::Orderer => "orderer",
        }
    }

    pub fn parse(text: &str) -> Option<NodeOu> {
        match text {
            "client" => Some(NodeOu::Client),
            "peer" => Some(NodeOu::Peer),
            "admin" => Some(NodeOu::Admin),
            "orderer" => Some(NodeOu::Orderer),
            _ => None,
        }
    }
}

/// A parsed X.509 certificate: what Fabric's MSP looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub common_name: String,
    pub issuer_common_name: String,
    pub organizational_unit: Option<String>,
    /// Uncompressed SEC1 point of the subject's key.
    pub public_key: Vec<u8>,
}

impl Certificate {
    pub fn from_der(der: &[u8]) -> Result<Certificate, CryptoError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
        let text = |attr: Option<&x509_parser::x509::AttributeTypeAndValue>| {
            attr.and_then(|a| a.as_str().ok()).map(str::to_string)
        };
        let certificate = Certificate {
            der: der.to_vec(),
            common_name: text(cert.subject().iter_common_name().next()).unwrap_or_default(),
            issuer_common_name: text(cert.issuer().iter_common_name().next()).unwrap_or_default(),
            organizational_unit: text(cert.subject().iter_organizational_unit().next()),
            public_key: cert.public_key().subject_public_key.data.to_vec(),
        };
        Ok(certificate)
    }

    pub fn from_pem(text: &str) -> Result<Certificate, CryptoError> {
        let block = pem::parse(text).map_err(|_| CryptoError::NotPem("certificate"))?;
        Certificate::from_der(block.contents())
    }

    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }

    pub fn role(&self) -> Option<NodeOu> {
        self.organizational_unit.as_deref().and_then(NodeOu::parse)
    }

    /// True when `issuer` signed this certificate (a real ECDSA check of the signature).
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        let (Ok((_, cert)), Ok((_, ca))) = (
            x509_parser::parse_x509_certificate(&self.der),
            x509_parser::parse_x509_certificate(&issuer.der),
        ) else {
            return false;
        };
        cert.issuer() == ca.subject()
            && verify(
                &issuer.public_key,
                cert.tbs_certificate.as_ref(),
                cert.signature_value.data.as_ref(),
            )
    }
}

/// Validity of every certificate hadr issues: fixed, so runs are reproducible.
fn fixed_validity(params: &mut rcgen::CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
}

fn subject(common_name: &str, organization: &str, ou: Option<NodeOu>) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "US");
    dn.push(rcgen::DnType::OrganizationName, organization);
    if let Some(ou) = ou {
        dn.push(rcgen::DnType::OrganizationalUnitName, ou.as_str());
    }
    dn.push(rcgen::DnType::CommonName, common_name);
    dn
}

fn issue_err(e: rcgen::Error) -> CryptoError {
    CryptoError::Issue(e.to_string())
}

/// A certificate authority's signing material: a self-signed root and its key.
pub struct CaKeys {
    pub certificate: Certificate,
    issuer: rcgen::Issuer<'static, KeyPair>,
    key_pem: String,
    next_serial: u64,
}

impl CaKeys {
    /// A new self-signed root CA, e.g. `ca` or `tlsca` of an organization.
    pub fn new_root(
        common_name: &str,
        organization: &str,
        rng: &mut impl RngCore,
    ) -> Result<CaKeys, CryptoError> {
        let key = KeyPair::generate(rng);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = subject(common_name, organization, None);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(rcgen::SerialNumber::from(1u64));
        fixed_validity(&mut params);
        let cert = params.self_signed(&key).map_err(issue_err)?;
        Ok(CaKeys {
            certificate: Certificate::from_der(cert.der())?,
            key_pem: key.to_pkcs8_pem(),
            issuer: rcgen::Issuer::new(params, key),
            next_serial: 2,
        })
    }

    /// Restores a CA from its certificate and key (a restarted CA node, an imported CA).
    pub fn from_parts(
        certificate_pem: &str,
        key_pem: &str,
        next_serial: u64,
    ) -> Result<CaKeys, CryptoError> {
        let certificate = Certificate::from_pem(certificate_pem)?;
        let key = KeyPair::from_pkcs8_pem(key_pem)?;
        let issuer = rcgen::Issuer::from_ca_cert_der(&certificate.der.clone().into(), key)
            .map_err(issue_err)?;
        Ok(CaKeys {
            certificate,
            issuer,
            key_pem: key_pem.to_string(),
            next_serial,
        })
    }

    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    pub fn next_serial(&self) -> u64 {
        self.next_serial
    }

    /// Issues a certificate for `public_key` (uncompressed SEC1) with a NodeOU role.
    pub fn issue(
        &mut self,
        common_name: &str,
        organization: &str,
        role: NodeOu,
        public_key: &KeyPair,
        hosts: &[String],
    ) -> Result<Certificate, CryptoError> {
        let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(issue_err)?;
        self.fill_leaf(&mut params, common_name, organization, role);
        let cert = params
            .signed_by(public_key, &self.issuer)
            .map_err(issue_err)?;
        Certificate::from_der(cert.der())
    }

    /// Issues a certificate for a PEM certificate signing request, as fabric-ca's enroll
    /// does: the CA decides subject and role, the CSR supplies the key and host names.
    pub fn issue_for_csr(
        &mut self,
        csr_pem: &str,
        common_name: &str,
        organization: &str,
        role: NodeOu,
    ) -> Result<Certificate, CryptoError> {
        let mut csr =
            rcgen::CertificateSigningRequestParams::from_pem(csr_pem).map_err(issue_err)?;
        self.fill_leaf(&mut csr.params, common_name, organization, role);
        let cert = csr.signed_by(&self.issuer).map_err(issue_err)?;
        Certificate::from_der(cert.der())
    }

    fn fill_leaf(
        &mut self,
        params: &mut rcgen::CertificateParams,
        common_name: &str,
        organization: &str,
        role: NodeOu,
    ) {
        params.distinguished_name = subject(common_name, organization, Some(role));
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(rcgen::SerialNumber::from(self.next_serial));
        self.next_serial += 1;
        fixed_validity(params);
    }
}

/// A PEM certificate signing request for `key`, as a client sends to fabric-ca's enroll.
pub fn certificate_signing_request(
    key: &KeyPair,
    common_name: &str,
    hosts: &[String],
) -> Result<String, CryptoError> {
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(issue_err)?;
    params.distinguished_name = subject(common_name, "", None);
    params
        .serialize_request(key)
        .and_then(|csr| csr.pem())
        .map_err(issue_err)
}

/// An identity that can sign: a certificate and its private key, with its MSP ID.
#[derive(Clone)]
pub struct SigningIdentity {
    pub msp_id: String,
    pub certificate: Certificate,
    pub key: KeyPair,
}

impl SigningIdentity {
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message)
    }

    /// The serialized identity Fabric puts in headers: MSP ID and certificate.
    pub fn serialized(&self) -> SerializedIdentity {
        SerializedIdentity {
            msp_id: self.msp_id.clone(),
            certificate_der: self.certificate.der.clone(),
        }
    }
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningIdentity({} {})",
            self.msp_id, self.certificate.common_name
        )
    }
}

/// Fabric's msp.SerializedIdentity: who signed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SerializedIdentity {
    pub msp_id: String,
    #[serde(with = "super::types::byte_string")]
    pub certificate_der: Vec<u8>,
}

/// Verifies an ASN.1 DER ECDSA P-256 signature over SHA-256 of `message`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let key = cache_key(public_key, message, signature);
    let verifier = verifier();
    {
        let mut cache = verifier.cache.lock().expect("verify cache");
        loop {
            match cache.get_mut(&key) {
                Some(Entry::Done(valid)) => return *valid,
                // The worker is on it: its answer is the same one we would compute.
                Some(Entry::Running) => {
                    cache = verifier.done.wait(cache).expect("verify cache");
                }
                // Still queued: checking it here is quicker than waiting for the worker
                // to reach it, and the worker skips it when it does.
                Some(entry @ Entry::Queued) => {
                    *entry = Entry::Running;
                    break;
                }
                None => break,
            }
        }
    }
    let valid = check(public_key, message, signature);
    verifier.finish(key, valid);
    valid
}

/// Forgets every finished answer, so that the next run in this process pays for its checks
/// as a fresh process would: a benchmark that repeats one seeded scenario would otherwise
/// find every signature already verified.
pub fn forget_verified() {
    let mut cache = verifier().cache.lock().expect("verify cache");
    cache.retain(|_, entry| !matches!(entry, Entry::Done(_)));
}

fn check(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(message, signature)
        .is_ok()
}

/// Starts verifying a signature that was just made, on the verifier thread, so that the
/// peers and orderers that check it later find the answer ready. This moves the cost of
/// verification to the machine's second core; it decides nothing: the answer is the real
/// check's, and a verifier holding a different key or message misses the cache and
/// checks inline.
fn prefetch(public_key: &[u8], message: &[u8], signature: &[u8]) {
    let key = cache_key(public_key, message, signature);
    let verifier = verifier();
    {
        let mut cache = verifier.cache.lock().expect("verify cache");
        if cache.contains_key(&key) {
            return;
        }
        cache.insert(key, Entry::Queued);
    }
    let job = Job {
        key,
        public_key: public_key.to_vec(),
        message: message.to_vec(),
        signature: signature.to_vec(),
    };
    if verifier.jobs.send(job).is_err() {
        // No worker (it could not start): leave nothing pending behind.
        verifier.cache.lock().expect("verify cache").remove(&key);
    }
}

enum Entry {
    /// Waiting in the worker's queue; whoever needs the answer first checks it.
    Queued,
    /// Being checked (by the worker or by a verifier that took it from the queue).
    Running,
    Done(bool),
}

struct Job {
    key: [u8; 32],
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
}

struct Verifier {
    cache: Mutex<HashMap<[u8; 32], Entry>>,
    done: Condvar,
    jobs: mpsc::Sender<Job>,
}

impl Verifier {
    /// Claims a queued check for the worker; false when a verifier already took it.
    fn start(&self, key: [u8; 32]) -> bool {
        let mut cache = self.cache.lock().expect("verify cache");
        match cache.get_mut(&key) {
            Some(entry @ Entry::Queued) => {
                *entry = Entry::Running;
                true
            }
            _ => false,
        }
    }

    fn finish(&self, key: [u8; 32], valid: bool) {
        let mut cache = self.cache.lock().expect("verify cache");
        if cache.len() >= CACHE_CAPACITY {
            // Forget finished answers; keep what the worker has yet to deliver.
            cache.retain(|_, entry| !matches!(entry, Entry::Done(_)));
        }
        cache.insert(key, Entry::Done(valid));
        drop(cache);
        self.done.notify_all();
    }
}

/// Enough for every signature of a ten-minute run at 20 tx/s; past that the cache restarts.
const CACHE_CAPACITY: usize = 1 << 17;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("hadr-verify".into())
            .spawn(move || {
                for job in queue {
                    if verifier().start(job.key) {
                        let valid = check(&job.public_key, &job.message, &job.signature);
                        verifier().finish(job.key, valid);
                    }
                }
            });
        let jobs = match spawned {
            Ok(_) => jobs,
            // Without a thread, prefetch sees a closed channel and verify checks inline.
            Err(_) => mpsc::channel().0,
        };
        Verifier {
            cache: Mutex::new(HashMap::default()),
            done: Condvar::new(),
            jobs,
        }
    })
}

fn cache_key(public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
    let message_digest = digest(&SHA256, message);
    let mut input = Vec::with_capacity(public_key.len() + 32 + signature.len() + 12);
    for part in [public_key, message_digest.as_ref(), signature] {
        input.extend_from_slice(&(part.len() as u32).to_be_bytes());
        input.extend_from_slice(part);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, &input).as_ref());
    key
}

/// SHA-256, the hash of block headers, data and transaction IDs.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn same_seed_gives_same_keys_certificates_and_signatures() {
        let make = || {
            let mut rng = rng();
            let mut ca = CaKeys::new_root("ca", "Org1", &mut rng).unwrap();
            let key = KeyPair::generate(&mut rng);
            let cert = ca.issue("peer0", "Org1", NodeOu::Peer, &key, &[]).unwrap();
            (cert.der, key.sign(b"block"))
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn signatures_verify_only_for_their_key_and_message() {
        let mut rng = rng();
        let a = KeyPair::generate(&mut rng);
        let b = KeyPair::generate(&mut rng);
        let sig = a.sign(b"hello");
        assert!(verify(a.public_key(), b"hello", &sig));
        assert!(!verify(a.public_key(), b"hellO", &sig));
        assert!(!verify(b.public_key(), b"hello", &sig));
        // Cached answers are the real answers, both ways.
        assert!(verify(a.public_key(), b"hello", &sig));
        assert!(!verify(b.public_key(), b"hello", &sig));
    }

    #[test]
    fn a_tampered_signature_fails_even_right_after_signing() {
        // The prefetch of the genuine signature must not answer for a different one.
        let key = KeyPair::generate(&mut rng());
        let mut sig = key.sign(b"payload");
        let last = sig.len() - 1;
        sig[last] ^= 1;
        assert!(!verify(key.public_key(), b"payload", &sig));
        let many: Vec<_> = (0..50u8)
            .map(|i| (vec![i; 100], key.sign(&[i; 100])))
            .collect();
        for (message, signature) in &many {
            assert!(verify(key.public_key(), message, signature));
            assert!(!verify(key.public_key(), b"other", signature));
        }
    }

    #[test]
    fn issued_certificates_carry_role_and_chain_to_their_ca_only() {
        let mut rng = rng();
        let mut ca = CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
        let other = CaKeys::new_root("ca.org2", "Org2", &mut rng).unwrap();
        let key = KeyPair::generate(&mut rng);
        let cert = ca.issue("admin", "Org1", NodeOu::Admin, &key, &[]).unwrap();
        assert_eq!(cert.role(), Some(NodeOu::Admin));
        assert_eq!(cert.public_key, key.public_key());
        assert!(cert.is_issued_by(&ca.certificate));
        assert!(!cert.is_issued_by(&other.certificate));
        let pem = cert.to_pem();
        assert_eq!(Certificate::from_pem(&pem).unwrap(), cert);
    }

    #[test]
    fn csr_enrollment_uses_the_csr_key() {
        let mut rng = rng();
        let mut ca = CaKeys::new_root("ca", "Org1", &mut rng).unwrap();
        let key = KeyPair::generate(&mut rng);
        let csr = certificate_signing_request(&key, "peer1", &["peer1.org1".into()]).unwrap();
        let cert = ca
            .issue_for_csr(&csr, "peer1", "Org1", NodeOu::Peer)
            .unwrap();
        assert_eq!(cert.public_key, key.public_key());
        assert!(cert.is_issued_by(&ca.certificate));
        let restored =
            CaKeys::from_parts(&ca.certificate.to_pem(), ca.key_pem(), ca.next_serial()).unwrap();
        assert_eq!(restored.certificate, ca.certificate);
    }

    #[test]
    fn private_keys_never_print() {
        let key = KeyPair::generate(&mut rng());
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }
}
