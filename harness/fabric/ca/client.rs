//! A fabric-ca client over any transport: what the console's browser code
//! (packages/stitch/src/libs/ca_lib.ts) and the Ansible collection do against a CA.

use super::token::create_token;
use super::{CaInfo, RegistrationRequest};
use crate::console::files::certificate_from_b64;
use crate::fabric::crypto::{certificate_signing_request, Certificate, KeyPair, SigningIdentity};
use crate::net::http::{HttpClient, HttpError};
use crate::secret::Secret;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, Method};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CaClientError {
    #[error(transparent)]
    Transport(#[from] HttpError),
    /// fabric-ca's answer: HTTP status and its `errors`.
    #[error("CA answered {status}: {messages}")]
    Refused { status: u16, messages: String },
    #[error("cannot read the CA's answer: {0}")]
    Decode(String),
}

/// fabric-ca's envelope; `result` is `""` on failure, so it is read only on success.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    errors: Vec<ResponseMessage>,
    success: bool,
}

#[derive(Deserialize)]
struct ResponseMessage {
    code: u32,
    message: String,
}

#[derive(Deserialize)]
struct EnrollResult {
    #[serde(rename = "Cert")]
    cert: String,
}

#[derive(Deserialize)]
struct RegisterResult {
    secret: Secret,
}

/// A client of one CA server (`api_url` of the CA component).
#[derive(Clone, Debug)]
pub struct CaClient {
    http: HttpClient,
    api_url: String,
    timeout: Duration,
}

impl CaClient {
    pub fn new(http: HttpClient, api_url: &str, timeout: Duration) -> CaClient {
        CaClient {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            timeout,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        authorization: Option<String>,
        body: Vec<u8>,
    ) -> Result<T, CaClientError> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api_url))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request
            .body(Bytes::from(body))
            .map_err(|e| CaClientError::Decode(e.to_string()))?;
        let response = self.http.send(request, self.timeout).await?;
        let status = response.status().as_u16();
        let envelope: Envelope = serde_json::from_slice(response.body())
            .map_err(|e| CaClientError::Decode(format!("HTTP {status}: {e}")))?;
        match envelope.success {
            true => serde_json::from_value(envelope.result)
                .map_err(|e| CaClientError::Decode(format!("HTTP {status}: {e}"))),
            false => Err(CaClientError::Refused {
                status,
                messages: envelope
                    .errors
                    .iter()
                    .map(|e| format!("[{}] {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }

    /// `GET /cainfo?ca=NAME`.
    pub async fn cainfo(&self, caname: &str) -> Result<CaInfo, CaClientError> {
        self.call(
            Method::GET,
            &format!("/cainfo?ca={caname}"),
            None,
            Vec::new(),
        )
        .await
    }

    /// Enrolls `id` with its secret: a CSR for `key` (with `hosts` as SANs), signed by the
    /// CA named `caname`.
    pub async fn enroll(
        &self,
        caname: &str,
        id: &str,
        secret: &Secret,
        key: &KeyPair,
        hosts: &[String],
    ) -> Result<Certificate, CaClientError> {
        let csr = certificate_signing_request(key, id, hosts)
            .map_err(|e| CaClientError::Decode(e.to_string()))?;
        let body = serde_json::json!({"certificate_request": csr, "caname": caname});
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{}", secret.expose()));
        let result: EnrollResult = self
            .call(
                Method::POST,
                "/api/v1/enroll",
                Some(format!("Basic {basic}")),
                body.to_string().into_bytes(),
            )
            .await?;
        certificate_from_b64(&result.cert).map_err(|e| CaClientError::Decode(e.to_string()))
    }

    /// Registers an identity, signed by the registrar's enrollment (a fabric-ca token);
    /// answers the enroll secret.
    pub async fn register(
        &self,
        registrar: &SigningIdentity,
        request: &RegistrationRequest,
    ) -> Result<Secret, CaClientError> {
        let path = "/api/v1/register";
        let body = serde_json::to_vec(request).map_err(|e| CaClientError::Decode(e.to_string()))?;
        let token = create_token(registrar, "POST", path, &body);
        let result: RegisterResult = self.call(Method::POST, path, Some(token), body).await?;
        Ok(result.secret)
    }
}
