//! Request validation with the real console's messages.
//!
//! fabric-operations-console validates each body against its OpenAPI description
//! (packages/athena/libs/validation_lib.js, `validate_input_field`): required keys first,
//! then the value's type, then each known property in the description's order, then
//! regular expressions, certificates, array sizes and known hosts; the messages come from
//! the description's `x-validate_error_messages`, and the answer is
//! `400 {statusCode: 400, msgs: [...]}`. This module walks the same steps in the same
//! order over a small description of the bodies the mock accepts, written from the
//! OpenAPI schemas (ImportCaBody, ImportPeerBody, ImportOrdererBody, ImportMSPBody,
//! CreateCaBody, CreatePeerBody, CreateApiKeyBody), so the mock's 400s read like the real
//! console's (compare real_responses.json, importCa-fail and importPeer-fail).

use base64::Engine as _;
use serde_json::Value;

/// What a string must look like (`x-validate_*` extensions of the description).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringRule {
    Any,
    /// `is_http_url`: `^https?://[\w-._~]+` (default_settings_doc.json `regex`).
    HttpUrl,
    /// `is_grpc_url`: `^grpcs?://[\w-._~]+:\d{1,5}$`.
    GrpcUrl,
    /// `invalid_msp_id` must not match: only alphanumerics, dashes and dots.
    MspId,
    /// `is_valid_id`: `^[a-z][a-z0-9_-]+$`.
    ComponentId,
    /// `x-validate_base64_certificate`: base64 of a PEM certificate.
    Base64Certificate,
    /// `invalid_enroll_characters` must not match.
    EnrollCharacters,
    /// `x-validate_known_hostname`: host (with the sibling `port`) of a known component.
    KnownHost,
}

#[derive(Clone, Debug)]
pub enum Spec {
    Object {
        required: &'static [&'static str],
        properties: Vec<(&'static str, Spec)>,
        no_extra_keys: bool,
    },
    Array {
        items: Box<Spec>,
        min: Option<usize>,
    },
    String(StringRule),
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
}

fn object(
    required: &'static [&'static str],
    properties: Vec<(&'static str, Spec)>,
    no_extra_keys: bool,
) -> Spec {
    Spec::Object {
        required,
        properties,
        no_extra_keys,
    }
}

fn string() -> Spec {
    Spec::String(StringRule::Any)
}

fn rule(rule: StringRule) -> Spec {
    Spec::String(rule)
}

fn certs(min: Option<usize>) -> Spec {
    Spec::Array {
        items: Box::new(rule(StringRule::Base64Certificate)),
        min,
    }
}

fn strings() -> Spec {
    Spec::Array {
        items: Box::new(string()),
        min: None,
    }
}

fn ca_name_field() -> Spec {
    object(
        &["name"],
        vec![("name", string()), ("root_certs", certs(Some(1)))],
        true,
    )
}

/// ImportCaBody.
pub fn import_ca() -> Spec {
    object(
        &["display_name", "api_url", "msp"],
        vec![
            ("id", rule(StringRule::ComponentId)),
            ("display_name", string()),
            ("api_url", rule(StringRule::HttpUrl)),
            ("operations_url", rule(StringRule::HttpUrl)),
            ("location", string()),
            (
                "msp",
                object(
                    &["component", "tlsca", "ca"],
                    vec![
                        ("ca", ca_name_field()),
                        ("tlsca", ca_name_field()),
                        (
                            "component",
                            object(
                                &["tls_cert"],
                                vec![("tls_cert", rule(StringRule::Base64Certificate))],
                                true,
                            ),
                        ),
                    ],
                    true,
                ),
            ),
            ("tags", strings()),
            ("tls_cert", rule(StringRule::Base64Certificate)),
        ],
        true,
    )
}

fn node_msp() -> Spec {
    let roots = || {
        object(
            &["root_certs"],
            vec![("name", string()), ("root_certs", certs(Some(1)))],
            true,
        )
    };
    object(
        &["component", "tlsca"],
        vec![
            (
                "ca",
                object(
                    &[],
                    vec![("name", string()), ("root_certs", certs(Some(1)))],
                    true,
                ),
            ),
            ("tlsca", roots()),
            (
                "component",
                object(
                    &["tls_cert"],
                    vec![
                        ("admin_certs", certs(None)),
                        ("ecert", rule(StringRule::Base64Certificate)),
                        ("tls_cert", rule(StringRule::Base64Certificate)),
                    ],
                    true,
                ),
            ),
        ],
        true,
    )
}

fn node_common() -> Vec<(&'static str, Spec)> {
    vec![
        ("api_url", rule(StringRule::GrpcUrl)),
        ("display_name", string()),
        ("grpcwp_url", rule(StringRule::HttpUrl)),
        ("id", rule(StringRule::ComponentId)),
        ("location", string()),
        ("msp", node_msp()),
        ("msp_id", rule(StringRule::MspId)),
        ("operations_url", rule(StringRule::HttpUrl)),
        ("tags", strings()),
    ]
}

/// ImportPeerBody.
pub fn import_peer() -> Spec {
    let mut properties = node_common();
    properties.push((
        "node_ou",
        object(&[], vec![("enabled", Spec::Boolean)], false),
    ));
    object(
        &["msp_id", "display_name", "grpcwp_url", "msp"],
        properties,
        true,
    )
}

/// ImportOrdererBody.
pub fn import_orderer() -> Spec {
    let mut properties = node_common();
    properties.extend([
        ("cluster_id", string()),
        ("cluster_name", string()),
        ("osnadmin_url", rule(StringRule::HttpUrl)),
        ("system_channel_id", string()),
        ("systemless", Spec::Boolean),
    ]);
    object(
        &[
            "msp_id",
            "cluster_name",
            "display_name",
            "grpcwp_url",
            "msp",
        ],
        properties,
        true,
    )
}

/// ImportMSPBody (no `x-validate_no_extra_keys`: exported MSP files import as they are).
pub fn import_msp() -> Spec {
    object(
        &["msp_id", "display_name", "root_certs"],
        vec![
            ("admins", certs(None)),
            ("display_name", string()),
            ("intermediate_certs", certs(None)),
            ("msp_id", rule(StringRule::MspId)),
            ("root_certs", certs(Some(1))),
            ("tls_root_certs", certs(Some(1))),
        ],
        false,
    )
}

/// CreateCaBody (the parts the mock uses; resources and storage are accepted as given).
pub fn create_ca() -> Spec {
    let identity = object(
        &["name", "pass", "type"],
        vec![
            ("name", string()),
            ("pass", string()),
            ("type", string()),
            (
                "maxenrollments",
                Spec::Number {
                    min: Some(-1.0),
                    max: None,
                },
            ),
            ("affiliation", string()),
        ],
        false,
    );
    let config = || {
        object(
            &["registry"],
            vec![(
                "registry",
                object(
                    &["maxenrollments", "identities"],
                    vec![
                        (
                            "maxenrollments",
                            Spec::Number {
                                min: Some(-1.0),
                                max: None,
                            },
                        ),
                        (
                            "identities",
                            Spec::Array {
                                items: Box::new(identity.clone()),
                                min: Some(1),
                            },
                        ),
                    ],
                    false,
                ),
            )],
            false,
        )
    };
    object(
        &["display_name", "config_override"],
        vec![
            ("id", rule(StringRule::ComponentId)),
            ("display_name", string()),
            (
                "config_override",
                object(&["ca"], vec![("ca", config()), ("tlsca", config())], true),
            ),
        ],
        false,
    )
}

fn enrollment_ca() -> Spec {
    object(
        &[
            "host",
            "port",
            "name",
            "tls_cert",
            "enroll_id",
            "enroll_secret",
        ],
        vec![
            ("enroll_id", rule(StringRule::EnrollCharacters)),
            ("enroll_secret", rule(StringRule::EnrollCharacters)),
            ("host", rule(StringRule::KnownHost)),
            ("name", string()),
            (
                "port",
                Spec::Number {
                    min: Some(1.0),
                    max: Some(65536.0),
                },
            ),
            ("tls_cert", rule(StringRule::Base64Certificate)),
        ],
        false,
    )
}

/// The `crypto` of CreatePeerBody (and of each node of CreateOrdererRaftBody).
fn node_crypto() -> Spec {
    object(
        &[],
        vec![(
            "enrollment",
            object(
                &["component", "ca", "tlsca"],
                vec![
                    ("ca", enrollment_ca()),
                    (
                        "component",
                        object(&[], vec![("admincerts", certs(None))], false),
                    ),
                    ("tlsca", enrollment_ca()),
                ],
                false,
            ),
        )],
        false,
    )
}

/// CreatePeerBody.
pub fn create_peer() -> Spec {
    object(
        &["crypto", "msp_id", "display_name"],
        vec![
            ("id", rule(StringRule::ComponentId)),
            ("msp_id", rule(StringRule::MspId)),
            ("display_name", string()),
            ("crypto", node_crypto()),
        ],
        false,
    )
}

/// CreateOrdererRaftBody.
pub fn create_orderer() -> Spec {
    object(
        &["cluster_name", "display_name", "msp_id", "crypto"],
        vec![
            ("cluster_name", string()),
            ("display_name", string()),
            ("msp_id", rule(StringRule::MspId)),
            (
                "crypto",
                Spec::Array {
                    items: Box::new(node_crypto()),
                    min: Some(1),
                },
            ),
        ],
        false,
    )
}

/// CreateApiKeyBody.
pub fn create_api_key() -> Spec {
    object(
        &["roles"],
        vec![("roles", strings()), ("description", string())],
        false,
    )
}

/// Checks `input` against `spec`; `known_hosts` are the `host:port` pairs of every URL
/// of every component the console knows (athena's URL safe list). Answers the messages,
/// empty when the body is valid.
pub fn validate(spec: &Spec, input: &Value, known_hosts: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    let walk = Walk {
        root: input,
        known_hosts,
    };
    walk.field(&mut Vec::new(), input, spec, &mut errors);
    errors
}

struct Walk<'a> {
    root: &'a Value,
    known_hosts: &'a [String],
}

/// The JavaScript constructor name athena reports (`null` is an `object` there).
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null | Value::Object(_) => "object",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
    }
}

/// What `RegExp.test` sees: JavaScript turns the value into a string.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~')
}

fn host_chars_then(rest: &str) -> Option<&str> {
    let end = rest.find(|c: char| !is_url_char(c)).unwrap_or(rest.len());
    (end > 0).then(|| &rest[end..])
}

fn strip_scheme<'s>(text: &'s str, schemes: &[&str]) -> Option<&'s str> {
    let lower = text.to_ascii_lowercase();
    schemes
        .iter()
        .find(|scheme| lower.starts_with(&format!("{scheme}://")))
        .map(|scheme| &text[scheme.len() + 3..])
}

fn is_http_url(text: &str) -> bool {
    strip_scheme(text, &["https", "http"])
        .and_then(host_chars_then)
        .is_some()
}

fn is_grpc_url(text: &str) -> bool {
    let Some(rest) = strip_scheme(text, &["grpcs", "grpc"]) else {
        return false;
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host.chars().all(is_url_char)
        && (1..=5).contains(&port.len())
        && port.chars().all(|c| c.is_ascii_digit())
}

fn is_base64_certificate(text: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .and_then(|pem| String::from_utf8(pem).ok())
        .is_some_and(|pem| crate::fabric::crypto::Certificate::from_pem(&pem).is_ok())
}

impl Walk<'_> {
    fn field(&self, path: &mut Vec<String>, input: &Value, spec: &Spec, errors: &mut Vec<String>) {
        let name = |path: &[String]| path.join(".");
        if let Spec::Object { required, .. } = spec {
            for key in *required {
                if input.get(key).is_none() {
                    errors.push(format!(
                        "Expected parameter '{}' to exist.",
                        name(&[path.as_slice(), &[key.to_string()]].concat())
                    ));
                }
            }
        }
        let expected = match spec {
            Spec::Object { .. } => "object",
            Spec::Array { .. } => "array",
            Spec::String(_) => "string",
            Spec::Number { .. } => "number",
            Spec::Boolean => "boolean",
        };
        let actual = type_name(input);
        let numeric_string = matches!(spec, Spec::Number { .. })
            && input.as_str().is_some_and(|s| s.parse::<f64>().is_ok());
        if expected != actual && !numeric_string {
            errors.push(format!(
                "Expected parameter '{}' to be of type: '{expected}', but instead was: '{actual}'.",
                name(path)
            ));
        }
        match spec {
            Spec::Object {
                properties,
                no_extra_keys,
                ..
            } => {
                let Some(map) = input.as_object() else {
                    return;
                };
                for (key, property) in properties {
                    if let Some(value) = map.get(*key) {
                        path.push(key.to_string());
                        self.field(path, value, property, errors);
                        path.pop();
                    }
                }
                if *no_extra_keys {
                    for key in map.keys() {
                        if !properties.iter().any(|(known, _)| known == key) {
                            errors.push(format!(
                                "Parameter '{}' is an unknown key for object.",
                                name(&[path.as_slice(), std::slice::from_ref(key)].concat())
                            ));
                        }
                    }
                }
            }
            Spec::Array { items, min } => {
                let Some(entries) = input.as_array() else {
                    return;
                };
                for (i, entry) in entries.iter().enumerate() {
                    let mut item_path = path.clone();
                    if let Some(last) = item_path.last_mut() {
                        last.push_str(&format!("[{i}]"));
                    }
                    self.field(&mut item_path, entry, items, errors);
                }
                if let Some(min) = min {
                    if entries.len() < *min {
                        errors.push(format!(
                            "Expected parameter '{}' is too small. Array must have >= {min} element(s).",
                            name(path)
                        ));
                    }
                }
            }
            Spec::Number { min, max } => {
                let number = js_string(input).parse::<f64>().unwrap_or(f64::NAN);
                if min.is_some_and(|min| number < min) {
                    errors.push(format!(
                        "Parameter '{}' is out of range. Must be >= {}.",
                        name(path),
                        min.unwrap_or_default()
                    ));
                }
                if max.is_some_and(|max| number > max) {
                    errors.push(format!(
                        "Parameter '{}' is out of range. Must be <= {}.",
                        name(path),
                        max.unwrap_or_default()
                    ));
                }
            }
            Spec::String(rule) => self.string(path, input, *rule, errors),
            Spec::Boolean => {}
        }
    }

    fn string(&self, path: &[String], input: &Value, rule: StringRule, errors: &mut Vec<String>) {
        let name = path.join(".");
        let text = js_string(input);
        let message = match rule {
            StringRule::Any => None,
            StringRule::HttpUrl | StringRule::GrpcUrl => {
                let valid = if rule == StringRule::HttpUrl {
                    is_http_url(&text)
                } else {
                    is_grpc_url(&text)
                };
                (!valid).then(|| {
                    format!("The field '{name}' must be a url including the protocol, hostname/ip and port.")
                })
            }
            StringRule::MspId => {
                let valid = text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                    && text != "."
                    && text != "..";
                (!valid).then(|| {
                    format!("The field '{name}' can only contain alphanumerics characters, dashes, and dots.")
                })
            }
            StringRule::ComponentId => {
                let mut chars = text.chars();
                let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && text.len() >= 2
                    && chars.all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                    });
                (!valid).then(|| {
                    format!("The field '{name}' must start with a letter, be lowercase and only contain letters, numbers, dashes or underscores.")
                })
            }
            StringRule::Base64Certificate => (!is_base64_certificate(&text))
                .then(|| format!("Expected parameter '{name}' to be a Base64 encoded PEM-string.")),
            StringRule::EnrollCharacters => {
                let invalid = text
                    .chars()
                    .any(|c| c.is_whitespace() || ":/<>#{}%`[]\\^~|\"".contains(c));
                invalid.then(|| {
                    format!("The field '{name}' cannot contain white space or these characters :\\<>#{{}}%`[]\\^~|\"")
                })
            }
            StringRule::KnownHost => {
                let host_port = if text.rsplit_once(':').is_some_and(|(_, port)| {
                    !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())
                }) {
                    text.clone()
                } else {
                    // The port is the sibling field `port` (validation_lib.js).
                    let mut parent: Vec<&str> = path.iter().map(String::as_str).collect();
                    parent.pop();
                    let port = parent
                        .iter()
                        .try_fold(self.root, |value, key| value.get(key))
                        .and_then(|value| value.get("port"))
                        .map(js_string)
                        .unwrap_or_default();
                    format!("{text}:{port}")
                };
                (!self.known_hosts.contains(&host_port.to_ascii_lowercase())).then(|| {
                    format!("The parameter '{name}' was not found in the list of known URLs. Import a CA using this host & port or change the host and port in this request to a known one")
                })
            }
        };
        errors.extend(message);
    }
}

/// `host:port` of an http(s) or grpc(s) URL, lowercase, for the known-host list.
pub fn host_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        let port = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        format!("{authority}:{port}")
    };
    Some(with_port.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_msp_parts_are_reported_as_the_real_console_does() {
        // real_responses.json "importCa-fail".
        let body = json!({
            "display_name": "My Imported CA",
            "api_url": "https://n3a3ec3-myca.ibp.us-south.containers.appdomain.cloud:7054",
            "operations_url": "https://n3a3ec3-myca.ibp.us-south.containers.appdomain.cloud:9443",
            "location": "ibmcloud",
            "msp": {}
        });
        assert_eq!(
            validate(&import_ca(), &body, &[]),
            vec![
                "Expected parameter 'msp.component' to exist.",
                "Expected parameter 'msp.tlsca' to exist.",
                "Expected parameter 'msp.ca' to exist.",
            ]
        );
    }

    #[test]
    fn a_null_url_fails_type_and_url_checks_in_order() {
        // real_responses.json "importPeer-fail".
        let body = json!({
            "display_name": "My Imported Peer",
            "location": "ibm cloud",
            "api_url": null,
            "msp_id": "PeerOrg1",
            "operations_url": "https://n3a3ec3-mypeer.ibp.us-south.containers.appdomain.cloud:9443",
            "grpcwp_url": "https://n3a3ec3-mypeer-proxy.ibp.us-south.containers.appdomain.cloud:8084",
            "msp": {}
        });
        assert_eq!(
            validate(&import_peer(), &body, &[]),
            vec![
                "Expected parameter 'api_url' to be of type: 'string', but instead was: 'object'.",
                "The field 'api_url' must be a url including the protocol, hostname/ip and port.",
                "Expected parameter 'msp.component' to exist.",
                "Expected parameter 'msp.tlsca' to exist.",
            ]
        );
    }

    #[test]
    fn url_rules_follow_the_console_regexes() {
        assert!(is_http_url("http://ca.org1.us-east:7054"));
        assert!(is_http_url("HTTPS://x"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("http://"));
        assert!(is_grpc_url("grpcs://peer0.org1:7051"));
        assert!(!is_grpc_url("grpcs://peer0.org1"));
        assert!(!is_grpc_url("grpcs://peer0.org1:123456"));
    }

    #[test]
    fn unknown_enroll_hosts_are_refused_with_the_sibling_port() {
        let body = json!({
            "display_name": "peer",
            "msp_id": "Org1MSP",
            "crypto": {"enrollment": {
                "ca": {"host": "ca.org1.us-east", "port": 7054, "name": "ca",
                       "tls_cert": "x", "enroll_id": "peer1", "enroll_secret": "pw"},
                "tlsca": {"host": "ca.org1.us-east", "port": 7054, "name": "tlsca",
                          "tls_cert": "x", "enroll_id": "peer1", "enroll_secret": "pw"},
                "component": {"admincerts": []}
            }}
        });
        let unknown = validate(&create_peer(), &body, &[]);
        assert!(unknown
            .iter()
            .any(|m| m.starts_with("The parameter 'crypto.enrollment.ca.host' was not found")));
        let known = validate(&create_peer(), &body, &["ca.org1.us-east:7054".into()]);
        assert!(!known.iter().any(|m| m.contains("known URLs")), "{known:?}");
        assert_eq!(host_port("http://CA.org1:7054/x").unwrap(), "ca.org1:7054");
        assert_eq!(host_port("https://console").unwrap(), "console:443");
    }

    #[test]
    fn extra_keys_and_short_arrays_are_refused() {
        let body = json!({"display_name": "x", "msp_id": "Org1", "root_certs": []});
        assert_eq!(
            validate(&import_msp(), &body, &[]),
            vec!["Expected parameter 'root_certs' is too small. Array must have >= 1 element(s)."]
        );
        let body = json!({"roles": ["reader"], "color": "blue"});
        assert!(validate(&create_api_key(), &body, &[]).is_empty());
        let body = json!({"display_name": "x", "api_url": "http://ca:7054", "colour": 1,
            "msp": {"ca": {"name": "ca"}, "tlsca": {"name": "tlsca"}, "component": {"tls_cert": "bad"}}});
        assert_eq!(
            validate(&import_ca(), &body, &[]),
            vec![
                "Expected parameter 'msp.component.tls_cert' to be a Base64 encoded PEM-string.",
                "Parameter 'colour' is an unknown key for object.",
            ]
        );
    }
}
