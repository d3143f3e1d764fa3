//! The wallet: identities kept client-side, one wallet per console, as the real console
//! keeps them in the browser (packages/apollo/src/rest/IdentityApi.js; no REST endpoint
//! holds identities). Identities are matched to an MSP by root certificate, not by MSP ID
//! (fabric-operations-console#308).

use super::files::{b64_pem, certificate_to_b64, pem_from_b64, IdentityFile};
use crate::fabric::crypto::{Certificate, CryptoError, KeyPair, SigningIdentity};
use crate::secret::Secret;
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WalletError {
    #[error("an identity named {0:?} is already in the wallet")]
    Duplicate(String),
    #[error("no identity named {0:?} in the wallet")]
    Unknown(String),
    #[error("the private key of {0:?} does not match its certificate")]
    KeyMismatch(String),
    #[error("{0:?} is not an identity file")]
    NotAnIdentity(String),
    #[error("identity {name:?}: {source}")]
    Crypto { name: String, source: CryptoError },
    #[error("identity {name:?}: {message}")]
    Encoding { name: String, message: String },
}

/// A named certificate and its private key.
pub struct Identity {
    pub name: String,
    pub certificate: Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({} CN={})",
            self.name, self.certificate.common_name
        )
    }
}

impl Identity {
    /// Refuses a key that does not match the certificate's public key.
    pub fn new(
        name: &str,
        certificate: Certificate,
        key: KeyPair,
    ) -> Result<Identity, WalletError> {
        if key.public_key() != certificate.public_key.as_slice() {
            return Err(WalletError::KeyMismatch(name.to_string()));
        }
        Ok(Identity {
            name: name.to_string(),
            certificate,
            key,
        })
    }

    /// The identity as a signer for `msp_id`.
    pub fn signer(&self, msp_id: &str) -> SigningIdentity {
        let key = KeyPair::from_pkcs8_pem(&self.key.to_pkcs8_pem())
            .expect("a key that was parsed once parses again");
        SigningIdentity {
            msp_id: msp_id.to_string(),
            certificate: self.certificate.clone(),
            key,
        }
    }

    /// `<name>_identity.json` contents.
    pub fn export(&self) -> IdentityFile {
        IdentityFile {
            name: self.name.clone(),
            file_type: "identity".into(),
            cert: certificate_to_b64(&self.certificate),
            private_key: Secret::new(b64_pem(&self.key.to_pkcs8_pem())),
        }
    }

    pub fn from_file(file: &IdentityFile) -> Result<Identity, WalletError> {
        if file.file_type != "identity" {
            return Err(WalletError::NotAnIdentity(file.name.clone()));
        }
        let encoding = |message: String| WalletError::Encoding {
            name: file.name.clone(),
            message,
        };
        let crypto = |source: CryptoError| WalletError::Crypto {
            name: file.name.clone(),
            source,
        };
        let cert_pem = pem_from_b64(&file.cert).map_err(|e| encoding(e.to_string()))?;
        let key_pem =
            pem_from_b64(file.private_key.expose()).map_err(|e| encoding(e.to_string()))?;
        let certificate = Certificate::from_pem(&cert_pem).map_err(crypto)?;
        let key = KeyPair::from_pkcs8_pem(&key_pem).map_err(crypto)?;
        Identity::new(&file.name, certificate, key)
    }
}

/// The identities of one console, by name.
#[derive(Debug, Default)]
pub struct Wallet {
    identities: BTreeMap<String, Identity>,
}

impl Wallet {
    pub fn new() -> Wallet {
        Wallet::default()
    }

    /// Adds an identity; a name already present fails, as the console's import does.
    pub fn add(&mut self, identity: Identity) -> Result<(), WalletError> {
        if self.identities.contains_key(&identity.name) {
            return Err(WalletError::Duplicate(identity.name));
        }
        self.identities.insert(identity.name.clone(), identity);
        Ok(())
    }

    pub fn import(&mut self, file: &IdentityFile) -> Result<(), WalletError> {
        self.add(Identity::from_file(file)?)
    }

    pub fn export(&self, name: &str) -> Result<IdentityFile, WalletError> {
        Ok(self.get(name)?.export())
    }

    pub fn get(&self, name: &str) -> Result<&Identity, WalletError> {
        self.identities
            .get(name)
            .ok_or_else(|| WalletError::Unknown(name.to_string()))
    }

    pub fn names(&self) -> Vec<String> {
        self.identities.keys().cloned().collect()
    }

    /// The identities an MSP accepts: issued by one of its root certificates (base64 PEM).
    pub fn identities_for_msp(&self, root_certs_b64: &[String]) -> Vec<&Identity> {
        let roots: Vec<Certificate> = root_certs_b64
            .iter()
            .filter_map(|b64| super::files::certificate_from_b64(b64).ok())
            .collect();
        self.identities
            .values()
            .filter(|identity| {
                roots
                    .iter()
                    .any(|root| identity.certificate.is_issued_by(root))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::crypto::{CaKeys, NodeOu};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn admin(rng: &mut ChaCha8Rng, ca: &mut CaKeys) -> (Certificate, KeyPair) {
        let key = KeyPair::generate(rng);
        let cert = ca
            .issue("org1admin", "Org1", NodeOu::Admin, &key, &[])
            .unwrap();
        (cert, key)
    }

    #[test]
    fn identity_files_round_trip_and_never_print_the_key() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut ca = CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
        let (cert, key) = admin(&mut rng, &mut ca);
        let key_pem = key.to_pkcs8_pem();
        let identity = Identity::new("org1admin", cert, key).unwrap();
        let file = identity.export();
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["type"], "identity");
        assert_eq!(
            pem_from_b64(json["private_key"].as_str().unwrap()).unwrap(),
            key_pem
        );
        assert!(!format!("{file:?}{identity:?}").contains("PRIVATE"));
        let mut wallet = Wallet::new();
        wallet.import(&file).unwrap();
        assert!(matches!(
            wallet.import(&file),
            Err(WalletError::Duplicate(_))
        ));
        let roots = vec![certificate_to_b64(&ca.certificate)];
        assert_eq!(wallet.identities_for_msp(&roots).len(), 1);
        let other = CaKeys::new_root("ca.org2", "Org2", &mut rng).unwrap();
        assert!(wallet
            .identities_for_msp(&[certificate_to_b64(&other.certificate)])
            .is_empty());
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut ca = CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
        let (cert, _) = admin(&mut rng, &mut ca);
        let stranger = KeyPair::generate(&mut rng);
        let file = IdentityFile {
            name: "org1admin".into(),
            file_type: "identity".into(),
            cert: certificate_to_b64(&cert),
            private_key: Secret::new(b64_pem(&stranger.to_pkcs8_pem())),
        };
        let error = Identity::from_file(&file).unwrap_err();
        assert!(matches!(error, WalletError::KeyMismatch(_)));
        insta::assert_snapshot!(error.to_string(), @r#"the private key of "org1admin" does not match its certificate"#);
    }
}
