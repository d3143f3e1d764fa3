//! The files a person exports from one console and imports into another, in the real
//! console's formats (packages/apollo/src/utils/helper.js `getExportedNode`): an identity
//! `{name, type: "identity", cert, private_key}`, an MSP, and a CA, peer or ordering node
//! (an ordering service exports as an array of its nodes). Certificates and keys are
//! base64-encoded PEM, as the console writes them.

use super::api::{
    CaNameField, Component, ComponentMsp, ComponentType, ImportBody, ImportCaBody, ImportCaMsp,
    ImportMspBody, ImportNodeBody, ImportNodeMsp, ImportOrdererBody, ImportPeerBody, NodeOuSetting,
    RootCertsField, TlsCertField,
};
use crate::fabric::crypto::{Certificate, CryptoError};
use crate::secret::Secret;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FileError {
    #[error("not base64: {0}")]
    Base64(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the {kind} file lacks {field}")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    #[error("a {found} file cannot be imported as a {expected}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
}

/// Base64 of a PEM text: how the console carries certificates and keys.
pub fn b64_pem(pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
}

/// The PEM text inside a base64 string.
pub fn pem_from_b64(b64: &str) -> Result<String, FileError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| FileError::Base64(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| FileError::Base64(e.to_string()))
}

pub fn certificate_from_b64(b64: &str) -> Result<Certificate, FileError> {
    Ok(Certificate::from_pem(&pem_from_b64(b64)?)?)
}

pub fn certificate_to_b64(certificate: &Certificate) -> String {
    b64_pem(&certificate.to_pem())
}

/// `<name>_identity.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityFile {
    pub name: String,
    #[serde(rename = "type")]
    pub file_type: String,
    pub cert: String,
    pub private_key: Secret,
}

/// An organization's MSP definition as exported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspFile {
    pub display_name: String,
    pub msp_id: String,
    #[serde(rename = "type")]
    pub file_type: String,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub root_certs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediate_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_root_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_intermediate_certs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit_identifiers: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_node_ous: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_version: Option<String>,
    /// Legacy field for older consoles: the display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A CA, peer or ordering node as exported, with the legacy fields older consoles read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFile {
    pub display_name: String,
    #[serde(rename = "type")]
    pub component_type: ComponentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpcwp_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osnadmin_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemless: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp: Option<ComponentMsp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ou: Option<NodeOuSetting>,
    // Legacy fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlsca_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_root_cert: Option<String>,
}

/// An ordering service exports as the array of its nodes.
pub type OrderingServiceFile = Vec<NodeFile>;

impl MspFile {
    pub fn from_component(component: &Component) -> MspFile {
        MspFile {
            display_name: component.display_name.clone(),
            msp_id: component.msp_id.clone().unwrap_or_default(),
            file_type: "msp".into(),
            admins: component.admins.clone().unwrap_or_default(),
            root_certs: component.root_certs.clone().unwrap_or_default(),
            intermediate_certs: component.intermediate_certs.clone(),
            tls_root_certs: component.tls_root_certs.clone(),
            tls_intermediate_certs: component.tls_intermediate_certs.clone(),
            id: Some(component.id.clone()),
            scheme_version: component.scheme_version.clone(),
            name: Some(component.display_name.clone()),
            ..MspFile::default()
        }
    }

    /// The import body for another console (same display name; the console picks the id).
    pub fn to_import(&self) -> Result<ImportBody, FileError> {
        if self.file_type != "msp" {
            return Err(FileError::WrongType {
                expected: "msp",
                found: self.file_type.clone(),
            });
        }
        Ok(ImportBody::Msp(ImportMspBody {
            id: None,
            display_name: self.display_name.clone(),
            msp_id: self.msp_id.clone(),
            root_certs: self.root_certs.clone(),
            intermediate_certs: self.intermediate_certs.clone().filter(|c| !c.is_empty()),
            admins: Some(self.admins.clone()),
            tls_root_certs: self.tls_root_certs.clone().filter(|c| !c.is_empty()),
            tls_intermediate_certs: self
                .tls_intermediate_certs
                .clone()
                .filter(|c| !c.is_empty()),
        }))
    }
}

impl NodeFile {
    pub fn from_component(component: &Component) -> NodeFile {
        let msp = component.msp.clone();
        let field = |f: fn(&ComponentMsp) -> Option<String>| msp.as_ref().and_then(f);
        NodeFile {
            display_name: component.display_name.clone(),
            component_type: component.component_type,
            grpcwp_url: component.grpcwp_url.clone(),
            api_url: component.api_url.clone(),
            operations_url: component.operations_url.clone(),
            osnadmin_url: component.osnadmin_url.clone(),
            msp_id: component.msp_id.clone(),
            systemless: component.systemless,
            system_channel_id: if component.systemless == Some(true) {
                Some(String::new())
            } else {
                component.system_channel_id.clone()
            },
            cluster_id: component.cluster_id.clone(),
            cluster_name: component.cluster_name.clone(),
            location: component.location.clone(),
            id: Some(component.id.clone()),
            scheme_version: component.scheme_version.clone(),
            node_ou: component.node_ou,
            name: Some(component.display_name.clone()),
            pem: field(|m| m.component.as_ref()?.tls_cert.clone()),
            ca_name: field(|m| m.ca.as_ref()?.name.clone()),
            tlsca_name: field(|m| m.tlsca.as_ref()?.name.clone()),
            tls_cert: field(|m| m.component.as_ref()?.tls_cert.clone()),
            tls_ca_root_cert: field(|m| m.tlsca.as_ref()?.root_certs.as_ref()?.first().cloned()),
            msp,
        }
    }

    fn missing(&self, field: &'static str) -> FileError {
        FileError::Missing {
            kind: self.component_type.as_str(),
            field,
        }
    }

    /// The import body for another console.
    pub fn to_import(&self) -> Result<ImportBody, FileError> {
        let msp = self.msp.clone().unwrap_or_default();
        let tls_cert = msp
            .component
            .as_ref()
            .and_then(|c| c.tls_cert.clone())
            .or_else(|| self.tls_cert.clone())
            .ok_or_else(|| self.missing("msp.component.tls_cert"))?;
        let location = self
            .location
            .clone()
            .filter(|l| l != "ibm_saas" && l != "-");
        match self.component_type {
            ComponentType::Ca => {
                let name = |field: &Option<super::api::MspCaField>, legacy: &Option<String>| {
                    field
                        .as_ref()
                        .and_then(|f| f.name.clone())
                        .or_else(|| legacy.clone())
                };
                Ok(ImportBody::Ca(ImportCaBody {
                    id: None,
                    display_name: self.display_name.clone(),
                    api_url: self
                        .api_url
                        .clone()
                        .ok_or_else(|| self.missing("api_url"))?,
                    operations_url: self.operations_url.clone(),
                    location,
                    tags: None,
                    msp: ImportCaMsp {
                        ca: CaNameField {
                            name: name(&msp.ca, &self.ca_name)
                                .ok_or_else(|| self.missing("msp.ca.name"))?,
                            root_certs: msp.ca.as_ref().and_then(|c| c.root_certs.clone()),
                        },
                        tlsca: CaNameField {
                            name: name(&msp.tlsca, &self.tlsca_name)
                                .ok_or_else(|| self.missing("msp.tlsca.name"))?,
                            root_certs: msp.tlsca.as_ref().and_then(|c| c.root_certs.clone()),
                        },
                        component: TlsCertField { tls_cert },
                    },
                    migration: Default::default(),
                }))
            }
            ComponentType::Peer | ComponentType::Orderer => {
                let tls_roots = msp
                    .tlsca
                    .as_ref()
                    .and_then(|t| t.root_certs.clone())
                    .or_else(|| self.tls_ca_root_cert.clone().map(|c| vec![c]))
                    .ok_or_else(|| self.missing("msp.tlsca.root_certs"))?;
                let node_msp = ImportNodeMsp {
                    ca: msp
                        .ca
                        .as_ref()
                        .and_then(|c| c.root_certs.clone())
                        .map(|root_certs| RootCertsField { root_certs }),
                    tlsca: RootCertsField {
                        root_certs: tls_roots,
                    },
                    component: super::api::MspComponentField {
                        tls_cert: Some(tls_cert),
                        ..msp.component.clone().unwrap_or_default()
                    },
                };
                let msp_id = self.msp_id.clone().ok_or_else(|| self.missing("msp_id"))?;
                let grpcwp_url = self
                    .grpcwp_url
                    .clone()
                    .ok_or_else(|| self.missing("grpcwp_url"))?;
                let node = ImportNodeBody {
                    id: None,
                    display_name: self.display_name.clone(),
                    msp_id,
                    grpcwp_url,
                    api_url: self.api_url.clone(),
                    operations_url: self.operations_url.clone(),
                    location,
                    tags: None,
                    msp: node_msp,
                    migration: Default::default(),
                };
                if self.component_type == ComponentType::Peer {
                    Ok(ImportBody::Peer(ImportPeerBody {
                        node,
                        node_ou: self.node_ou,
                    }))
                } else {
                    Ok(ImportBody::Orderer(ImportOrdererBody {
                        node,
                        cluster_name: self
                            .cluster_name
                            .clone()
                            .ok_or_else(|| self.missing("cluster_name"))?,
                        cluster_id: self.cluster_id.clone(),
                        osnadmin_url: self.osnadmin_url.clone(),
                        system_channel_id: self.system_channel_id.clone().filter(|s| !s.is_empty()),
                        systemless: self.systemless,
                    }))
                }
            }
            ComponentType::Msp => Err(FileError::WrongType {
                expected: "node",
                found: "msp".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::api::{MspCaField, MspComponentField};

    fn ca_component() -> Component {
        Component {
            api_url: Some("http://ca.org1.us-east:7054".into()),
            operations_url: Some("http://ca.org1.us-east:9443".into()),
            location: Some("ibm_saas".into()),
            msp: Some(ComponentMsp {
                ca: Some(MspCaField {
                    name: Some("ca".into()),
                    root_certs: None,
                }),
                tlsca: Some(MspCaField {
                    name: Some("tlsca".into()),
                    root_certs: None,
                }),
                component: Some(MspComponentField {
                    tls_cert: Some("dGxz".into()),
                    ..Default::default()
                }),
            }),
            ..Component::new("org1ca", ComponentType::Ca, "Org1 CA")
        }
    }

    #[test]
    fn an_exported_ca_imports_elsewhere_with_its_names_and_tls_cert() {
        let file = NodeFile::from_component(&ca_component());
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["type"], "fabric-ca");
        assert_eq!(json["ca_name"], "ca");
        assert_eq!(json["tls_cert"], "dGxz");
        let back: NodeFile = serde_json::from_value(json).unwrap();
        let ImportBody::Ca(body) = back.to_import().unwrap() else {
            panic!("a CA file imports as a CA");
        };
        assert_eq!(body.msp.ca.name, "ca");
        assert_eq!(body.msp.tlsca.name, "tlsca");
        assert_eq!(body.msp.component.tls_cert, "dGxz");
        // A deployed CA's "ibm_saas" location belongs to the console that deployed it.
        assert_eq!(body.location, None);
    }

    #[test]
    fn a_node_file_without_a_tls_cert_is_refused() {
        let mut component = ca_component();
        component.msp = None;
        let error = NodeFile::from_component(&component)
            .to_import()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the fabric-ca file lacks msp.component.tls_cert"
        );
    }

    #[test]
    fn an_msp_file_is_an_msp_import() {
        let mut component = Component::new("org1msp", ComponentType::Msp, "Org1 MSP");
        component.msp_id = Some("Org1MSP".into());
        component.root_certs = Some(vec!["cm9vdA==".into()]);
        let file = MspFile::from_component(&component);
        assert_eq!(serde_json::to_value(&file).unwrap()["type"], "msp");
        let ImportBody::Msp(body) = file.to_import().unwrap() else {
            panic!("an MSP file imports as an MSP");
        };
        assert_eq!(body.msp_id, "Org1MSP");
        let mut wrong = file;
        wrong.file_type = "identity".into();
        assert!(wrong.to_import().is_err());
    }
}
