//! The console's v3 REST bodies, as fabric-operations-console's OpenAPI description has them
//! (packages/athena/json_docs/json_validation/ibp_openapi_v3.yaml, schemas ImportCaBody,
//! ImportPeerBody, ImportOrdererBody, ImportMSPBody, CreateCaBody, CreatePeerBody,
//! CreateOrdererRaftBody, GenericComponentResponse, CreateApiKeyBody/Response, BadRequest,
//! Forbidden, NotFound). Every certificate is a base64-encoded PEM string, as the real
//! console sends and expects it.
//!
//! Response types ignore fields they do not know, so the same client reads a real
//! console's richer answers (resources, storage, crstatus, ...).

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_PREFIX: &str = "/ak/api/v3";

/// Component types (athena's ev.STR: CA, PEER, ORDERER, MSP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ComponentType {
    #[serde(rename = "fabric-ca")]
    Ca,
    #[serde(rename = "fabric-peer")]
    Peer,
    #[serde(rename = "fabric-orderer")]
    Orderer,
    #[serde(rename = "msp")]
    Msp,
}

impl ComponentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentType::Ca => "fabric-ca",
            ComponentType::Peer => "fabric-peer",
            ComponentType::Orderer => "fabric-orderer",
            ComponentType::Msp => "msp",
        }
    }

    /// The type named in a route segment (`fabric-ca`, ...; `msp-external` is an MSP).
    pub fn from_route(segment: &str) -> Option<ComponentType> {
        match segment {
            "fabric-ca" => Some(ComponentType::Ca),
            "fabric-peer" => Some(ComponentType::Peer),
            "fabric-orderer" => Some(ComponentType::Orderer),
            "msp" | "msp-external" => Some(ComponentType::Msp),
            _ => None,
        }
    }
}

/// `msp.ca` / `msp.tlsca` of a component: the CA name (CAs) and root certificates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspCaField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_certs: Option<Vec<String>>,
}

/// `msp.component`: the node's own TLS certificate, enrollment certificate and admins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspComponentField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_certs: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentMsp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<MspCaField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlsca: Option<MspCaField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<MspComponentField>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOuSetting {
    pub enabled: bool,
}

/// A component record as the console answers it (GenericComponentResponse, CaResponse,
/// PeerResponse, OrdererResponse, MspResponse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    #[serde(rename = "type")]
    pub component_type: ComponentType,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpcwp_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osnadmin_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp: Option<ComponentMsp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ou: Option<NodeOuSetting>,
    /// "ibm_saas" when the console deployed it, else what the importer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemless: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dep_component_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    // MSP components carry their certificates at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediate_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_root_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_intermediate_certs: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_timestamp: Option<u64>,
    /// Declared by imports (ImportCaBody, ImportPeerBody, ImportOrdererBody) for records
    /// moved from another console; stored and answered as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_type: Option<String>,
    /// "ok" in edit answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every other field: athena stores each key a record was imported or edited with
    /// (`preferred_url`, an MSP's own keys, ...) and answers it back.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Component {
    /// A bare record of `component_type`; the console fills in the rest.
    pub fn new(id: &str, component_type: ComponentType, display_name: &str) -> Component {
        Component {
            id: id.to_string(),
            component_type,
            display_name: display_name.to_string(),
            api_url: None,
            operations_url: None,
            grpcwp_url: None,
            osnadmin_url: None,
            msp_id: None,
            msp: None,
            node_ou: None,
            location: None,
            region: None,
            zone: None,
            cluster_id: None,
            cluster_name: None,
            system_channel_id: None,
            systemless: None,
            dep_component_id: None,
            version: None,
            root_certs: None,
            intermediate_certs: None,
            admins: None,
            tls_root_certs: None,
            tls_intermediate_certs: None,
            tags: Vec::new(),
            scheme_version: None,
            timestamp: None,
            edited_timestamp: None,
            migrated_from: None,
            cluster_type: None,
            console_type: None,
            message: None,
            extra: BTreeMap::new(),
        }
    }
}

/// `GET /components` (GetMultiComponentsResponse; EmptyArrayResponse with status 222).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentList {
    pub components: Vec<Component>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `DELETE /components/{id}` (DeleteComponentResponse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteComponentResponse {
    pub message: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub component_type: Option<ComponentType>,
}

/// `POST /components/bulk` answer (200, or 207 when some failed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkImportResponse {
    pub errors: Vec<serde_json::Value>,
    pub successes: Vec<Component>,
}

/// `POST /components/status` body: component ids to probe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {
    pub components: BTreeMap<String, StatusOptions>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_cache: Option<bool>,
}

/// One entry of the 207 status answer: `status` is "ok", "not ok" or null (unknown id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    pub status_url: Option<String>,
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ComponentStatus {
    pub fn is_ok(&self) -> bool {
        self.status.as_deref() == Some(STATUS_OK)
    }
}

/// athena's ev.STR.STATUS_ALL_GOOD / STATUS_NOT_GREAT.
pub const STATUS_OK: &str = "ok";
pub const STATUS_NOT_OK: &str = "not ok";

/// `GET /components/msps/{msp_id}` (GetMSPCertificateResponse).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspCertificates {
    pub msps: Vec<MspPublicData>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspPublicData {
    pub msp_id: String,
    #[serde(default)]
    pub root_certs: Vec<String>,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub tls_root_certs: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// Import bodies

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaNameField {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_certs: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsCertField {
    pub tls_cert: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCaMsp {
    pub ca: CaNameField,
    pub tlsca: CaNameField,
    pub component: TlsCertField,
}

/// `POST /components/fabric-ca` (ImportCaBody).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCaBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub display_name: String,
    pub api_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub msp: ImportCaMsp,
    #[serde(flatten)]
    pub migration: Migration,
}

/// Where an imported record came from (`migrated_from`, `cluster_type`, `console_type`:
/// declared by the CA, peer and orderer imports, refused by their edits).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_type: Option<String>,
}

/// `msp.tlsca` of a peer or orderer: root certificates required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCertsField {
    pub root_certs: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNodeMsp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<RootCertsField>,
    pub tlsca: RootCertsField,
    pub component: MspComponentField,
}

/// What peer and ordering node imports share (ImportPeerBody, ImportOrdererBody).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNodeBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub display_name: String,
    pub msp_id: String,
    pub grpcwp_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub msp: ImportNodeMsp,
    #[serde(flatten)]
    pub migration: Migration,
}

/// `POST /components/fabric-peer` (ImportPeerBody).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPeerBody {
    #[serde(flatten)]
    pub node: ImportNodeBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ou: Option<NodeOuSetting>,
}

/// `POST /components/fabric-orderer` (ImportOrdererBody): one ordering node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOrdererBody {
    #[serde(flatten)]
    pub node: ImportNodeBody,
    pub cluster_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osnadmin_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemless: Option<bool>,
}

/// `POST /components/msp` (ImportMSPBody): an organization's MSP definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMspBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub display_name: String,
    pub msp_id: String,
    pub root_certs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediate_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_root_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_intermediate_certs: Option<Vec<String>>,
}

/// Any import body, for bulk import (each carries its `type`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ImportBody {
    #[serde(rename = "fabric-ca")]
    Ca(ImportCaBody),
    #[serde(rename = "fabric-peer")]
    Peer(ImportPeerBody),
    #[serde(rename = "fabric-orderer")]
    Orderer(ImportOrdererBody),
    #[serde(rename = "msp")]
    Msp(ImportMspBody),
}

impl ImportBody {
    pub fn component_type(&self) -> ComponentType {
        match self {
            ImportBody::Ca(_) => ComponentType::Ca,
            ImportBody::Peer(_) => ComponentType::Peer,
            ImportBody::Orderer(_) => ComponentType::Orderer,
            ImportBody::Msp(_) => ComponentType::Msp,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Create (Kubernetes deploy) bodies

/// One entry of `config_override.ca.registry.identities`: the CA's bootstrap identities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryIdentity {
    pub name: String,
    pub pass: Secret,
    #[serde(rename = "type")]
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxenrollments: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    #[serde(default = "unlimited_enrollments")]
    pub maxenrollments: i64,
    pub identities: Vec<RegistryIdentity>,
}

fn unlimited_enrollments() -> i64 {
    -1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaConfig {
    pub registry: Registry,
}

/// `config_override`: `tlsca` is copied from `ca` when omitted (OpenAPI CreateCaBody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaConfigOverride {
    pub ca: CaConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlsca: Option<CaConfig>,
}

/// `POST /kubernetes/components/fabric-ca` (CreateCaBody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCaBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub display_name: String,
    pub config_override: CaConfigOverride,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `crypto.enrollment.ca` / `.tlsca`: where and as whom a new node enrolls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCa {
    pub host: String,
    pub port: u16,
    pub name: String,
    /// The CA's TLS certificate, base64 PEM.
    pub tls_cert: String,
    pub enroll_id: String,
    pub enroll_secret: Secret,
    /// TLS CA only: extra host names for the TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr_hosts: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentComponent {
    /// The org admins' certificates (the OpenAPI spells it `admincerts` here).
    #[serde(default)]
    pub admincerts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub ca: EnrollmentCa,
    pub tlsca: EnrollmentCa,
    pub component: EnrollmentComponent,
}

/// `crypto.msp`: ready-made keys and certificates instead of enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspCrypto {
    pub component: MspCryptoComponent,
    pub ca: RootCertsField,
    pub tlsca: RootCertsField,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspCryptoComponent {
    pub ekey: Secret,
    pub ecert: String,
    pub tls_key: Secret,
    pub tls_cert: String,
    #[serde(default)]
    pub admin_certs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCrypto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<Enrollment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp: Option<MspCrypto>,
}

/// `POST /kubernetes/components/fabric-peer` (CreatePeerBody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePeerBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub display_name: String,
    pub msp_id: String,
    pub crypto: NodeCrypto,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_db: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `POST /kubernetes/components/fabric-orderer` (CreateOrdererRaftBody): one crypto entry
/// per ordering node of the new cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrdererBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub cluster_name: String,
    pub display_name: String,
    pub msp_id: String,
    #[serde(default = "raft")]
    pub orderer_type: String,
    pub crypto: Vec<NodeCrypto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

fn raft() -> String {
    "raft".to_string()
}

/// CreateOrdererResponse: `{created: [nodes]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrdererResponse {
    pub created: Vec<Component>,
}

// ---------------------------------------------------------------------------------------
// Keys, tokens, errors

/// Console roles (athena settings ROLES_TO_ACTIONS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
    Manager,
}

/// `POST /permissions/keys` body (CreateApiKeyBody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateApiKeyBody {
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /permissions/keys` answer; the secret cannot be read back later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateApiKeyResponse {
    pub api_key: String,
    pub api_secret: Secret,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /identity/token` body (packages/athena/docs/permission_apis.md, 1b).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_secs: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenResponse {
    pub access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: String,
    pub expires_in: u64,
    /// Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// 400 answers (BadRequest): `{statusCode: 400, msgs: [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRequest {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub msgs: Vec<String>,
}

/// 403 answers (Forbidden; athena middleware.js `forbidden`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forbidden {
    pub authorized: bool,
    pub error: String,
    pub attempted_actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
}

/// 404 and 5xx answers with a single message (NotFound, athena's `{statusCode, msg}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /healthcheck` (other_apis.js): `{message: "ok", id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthcheck {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `GET /settings`: the public settings a client looks at (GetPublicSettingsResponse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSettings {
    #[serde(rename = "ATHENA_ID")]
    pub athena_id: String,
    #[serde(rename = "AUTH_SCHEME")]
    pub auth_scheme: String,
    #[serde(rename = "HOST_URL")]
    pub host_url: String,
    #[serde(rename = "REGION", default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(rename = "CLUSTER_DATA", default)]
    pub cluster_data: serde_json::Value,
    #[serde(rename = "FEATURE_FLAGS", default)]
    pub feature_flags: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_bodies_carry_their_type() {
        let body = ImportBody::Msp(ImportMspBody {
            display_name: "Org1".into(),
            msp_id: "Org1MSP".into(),
            root_certs: vec!["cert".into()],
            ..Default::default()
        });
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["type"], "msp");
        assert_eq!(serde_json::from_value::<ImportBody>(json).unwrap(), body);
    }

    #[test]
    fn create_bodies_never_print_secrets() {
        let identity = RegistryIdentity {
            name: "admin".into(),
            pass: Secret::new("adminpw-very-secret"),
            identity_type: "client".into(),
            maxenrollments: None,
            affiliation: None,
            attrs: BTreeMap::new(),
        };
        assert!(!format!("{identity:?}").contains("adminpw-very-secret"));
    }
}
