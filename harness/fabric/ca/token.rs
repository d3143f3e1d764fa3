//! fabric-ca's token authentication (hyperledger/fabric-ca util/util.go `GenECDSAToken`,
//! `VerifyToken`; lib/serverrequestcontext.go `TokenAuthentication`): the caller signs
//! `method + "." + b64(uri) + "." + b64(body) + "." + b64(cert PEM)` with the private key
//! of its enrollment certificate (ECDSA over SHA-256), and sends
//! `Authorization: <b64(cert PEM)>.<b64(signature)>`. `uri` is the request URI (path and
//! query, Go's `URL.RequestURI()`); base64 is the standard alphabet with padding.

use crate::fabric::crypto::{verify, Certificate, SigningIdentity};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

fn payload(method: &str, uri: &str, body: &[u8], b64_cert: &str) -> String {
    format!(
        "{method}.{}.{}.{b64_cert}",
        STANDARD.encode(uri.as_bytes()),
        STANDARD.encode(body)
    )
}

/// The `Authorization` header value for a request signed by `signer`.
pub fn create_token(signer: &SigningIdentity, method: &str, uri: &str, body: &[u8]) -> String {
    let b64_cert = STANDARD.encode(signer.certificate.to_pem().as_bytes());
    let signature = signer.sign(payload(method, uri, body, &b64_cert).as_bytes());
    format!("{b64_cert}.{}", STANDARD.encode(signature))
}

/// The certificate of a valid token for this request, or why it is not valid.
pub fn verify_token(
    token: &str,
    method: &str,
    uri: &str,
    body: &[u8],
) -> Result<Certificate, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [b64_cert, b64_signature] = parts.as_slice() else {
        return Err("Invalid token format; expecting 2 parts separated by '.'".into());
    };
    let pem = STANDARD
        .decode(b64_cert)
        .map_err(|e| format!("Failed to decode base64 encoded x509 cert: {e}"))?;
    let pem = String::from_utf8(pem).map_err(|e| e.to_string())?;
    let certificate = Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
    let signature = STANDARD
        .decode(b64_signature)
        .map_err(|e| format!("Invalid base64 encoded signature in token: {e}"))?;
    if verify(
        &certificate.public_key,
        payload(method, uri, body, b64_cert).as_bytes(),
        &signature,
    ) {
        Ok(certificate)
    } else {
        Err("Token signature validation failed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::crypto::{CaKeys, KeyPair, NodeOu};
    use rand::SeedableRng;

    #[test]
    fn a_token_verifies_only_for_its_method_uri_and_body() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut ca = CaKeys::new_root("ca", "Org1", &mut rng).unwrap();
        let key = KeyPair::generate(&mut rng);
        let certificate = ca.issue("admin", "Org1", NodeOu::Admin, &key, &[]).unwrap();
        let signer = SigningIdentity {
            msp_id: "Org1MSP".into(),
            certificate: certificate.clone(),
            key,
        };
        let token = create_token(&signer, "POST", "/api/v1/register", b"{}");
        assert_eq!(
            verify_token(&token, "POST", "/api/v1/register", b"{}").unwrap(),
            certificate
        );
        assert!(verify_token(&token, "GET", "/api/v1/register", b"{}").is_err());
        assert!(verify_token(&token, "POST", "/api/v1/identities", b"{}").is_err());
        assert!(verify_token(&token, "POST", "/api/v1/register", b"{ }").is_err());
        assert!(verify_token("garbage", "POST", "/", b"").is_err());
    }
}
