//! Request validation with the real console's messages.
//!
//! fabric-operations-console validates each body against a flattened copy of its OpenAPI
//! description (packages/athena/libs/validation_lib.js `validate_input_field`,
//! json_docs/json_validation/swagger_flatten_validation.json). For every field it checks, in
//! this order: required keys, the JavaScript type, each known property (in the
//! description's order), array entries, number ranges, enums, regular expressions, illegal
//! and unknown keys, string lengths, illegal values, certificates, array lengths and known
//! hosts; the answer is `400 {statusCode: 400, msgs: [...]}` with every problem. This module
//! walks the same steps over a description of the bodies the mock accepts, written from
//! that file (imports, edits, creates, keys, tokens), so the mock's 400s read like the real
//! console's (compare real_responses.json, importCa-fail and importPeer-fail).

use base64::Engine as _;
use serde_json::Value;

/// What a string must look like (`x-validate_regex_*` of the description).
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

/// A string field: its rule, length bounds (JavaScript length), allowed and refused values.
#[derive(Clone, Debug)]
pub struct Text {
    rule: StringRule,
    min_len: Option<usize>,
    max_len: Option<usize>,
    one_of: &'static [&'static str],
    not_one_of: &'static [&'static str],
}

impl Text {
    pub fn max(mut self, length: usize) -> Text {
        self.max_len = Some(length);
        self
    }

    pub fn min(mut self, length: usize) -> Text {
        self.min_len = Some(length);
        self
    }

    /// `enum`.
    pub fn one_of(mut self, values: &'static [&'static str]) -> Text {
        self.one_of = values;
        self
    }

    /// `x-validate_illegal_values`.
    pub fn not_one_of(mut self, values: &'static [&'static str]) -> Text {
        self.not_one_of = values;
        self
    }
}

#[derive(Clone, Debug)]
pub enum Spec {
    Object {
        required: &'static [&'static str],
        properties: Vec<(&'static str, Spec)>,
        no_extra_keys: bool,
        /// `x-validate_illegal_keys`: keys that may be read but never set.
        illegal_keys: &'static [&'static str],
    },
    Array {
        items: Box<Spec>,
        min: Option<usize>,
        max: Option<usize>,
    },
    String(Text),
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
}

impl From<Text> for Spec {
    fn from(text: Text) -> Spec {
        Spec::String(text)
    }
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
        illegal_keys: &[],
    }
}

fn rule(rule: StringRule) -> Text {
    Text {
        rule,
        min_len: None,
        max_len: None,
        one_of: &[],
        not_one_of: &[],
    }
}

fn text() -> Text {
    rule(StringRule::Any)
}

fn array(items: impl Into<Spec>, min: Option<usize>, max: Option<usize>) -> Spec {
    Spec::Array {
        items: Box::new(items.into()),
        min,
        max,
    }
}

fn number(min: Option<f64>, max: Option<f64>) -> Spec {
    Spec::Number { min, max }
}

/// At least `min` certificates, at most 100.
fn certs(min: usize) -> Spec {
    array(rule(StringRule::Base64Certificate), Some(min), Some(100))
}

fn cert() -> Spec {
    rule(StringRule::Base64Certificate).into()
}

fn http_url() -> Spec {
    rule(StringRule::HttpUrl).into()
}

fn grpc_url() -> Spec {
    rule(StringRule::GrpcUrl).into()
}

/// Up to 32 tags of up to 32 characters.
fn tags() -> Spec {
    array(text().max(32), Some(0), Some(32))
}

fn location() -> Spec {
    text().max(1024).not_one_of(&["ibm_saas"]).into()
}

fn msp_id() -> Spec {
    rule(StringRule::MspId)
        .max(250)
        .not_one_of(&[".", ".."])
        .into()
}

fn component_id() -> Spec {
    rule(StringRule::ComponentId).min(3).max(64).into()
}

fn preferred_url() -> Spec {
    text().one_of(&["os", "legacy"]).into()
}

fn display_name() -> Spec {
    text().max(64).into()
}

/// `migrated_from`, `cluster_type`, `console_type`: declared by the CA, peer and orderer
/// imports (and refused by their edits).
fn migration_fields() -> [(&'static str, Spec); 3] {
    [
        ("migrated_from", text().max(128).into()),
        ("cluster_type", text().max(32).into()),
        ("console_type", text().max(32).into()),
    ]
}

/// ImportCaBody.
pub fn import_ca() -> Spec {
    let ca_name = || {
        object(
            &["name"],
            vec![("name", text().into()), ("root_certs", certs(1))],
            true,
        )
    };
    let mut properties = vec![
        ("id", component_id()),
        ("display_name", text().into()),
        ("location", location()),
        ("api_url", http_url()),
    ];
    properties.extend(migration_fields());
    properties.extend([
        ("operations_url", http_url()),
        ("tags", tags()),
        ("tls_cert", cert()),
        (
            "msp",
            object(
                &["component", "tlsca", "ca"],
                vec![
                    ("ca", ca_name()),
                    ("tlsca", ca_name()),
                    (
                        "component",
                        object(&["tls_cert"], vec![("tls_cert", cert())], true),
                    ),
                ],
                true,
            ),
        ),
    ]);
    object(&["display_name", "api_url", "msp"], properties, true)
}

/// `msp` of a peer or orderer, imported or edited.
fn node_msp() -> Spec {
    let roots = |required: &'static [&'static str]| {
        object(
            required,
            vec![("name", text().into()), ("root_certs", certs(1))],
            true,
        )
    };
    object(
        &["component", "tlsca"],
        vec![
            ("ca", roots(&[])),
            ("tlsca", roots(&["root_certs"])),
            (
                "component",
                object(
                    &["tls_cert"],
                    vec![
                        ("tls_cert", cert()),
                        ("ecert", cert()),
                        ("admin_certs", certs(0)),
                    ],
                    true,
                ),
            ),
        ],
        true,
    )
}

/// ImportPeerBody.
pub fn import_peer() -> Spec {
    let mut properties = vec![
        ("id", component_id()),
        ("api_url", grpc_url()),
        ("display_name", display_name()),
        ("grpcwp_url", http_url()),
        ("location", location()),
    ];
    properties.extend(migration_fields());
    properties.extend([
        ("msp", node_msp()),
        ("msp_id", msp_id()),
        ("operations_url", http_url()),
        ("tags", tags()),
        (
            "node_ou",
            object(&[], vec![("enabled", Spec::Boolean)], false),
        ),
    ]);
    object(
        &["msp_id", "display_name", "grpcwp_url", "msp"],
        properties,
        true,
    )
}

/// ImportOrdererBody.
pub fn import_orderer() -> Spec {
    let mut properties = vec![
        ("api_url", grpc_url()),
        ("cluster_id", text().into()),
        ("cluster_name", text().max(64).into()),
        ("id", component_id()),
        ("display_name", display_name()),
        ("grpcwp_url", http_url()),
        ("osnadmin_url", http_url()),
        ("location", location()),
    ];
    properties.extend(migration_fields());
    properties.extend([
        ("msp", node_msp()),
        ("msp_id", msp_id()),
        ("operations_url", http_url()),
        ("systemless", Spec::Boolean),
        ("system_channel_id", text().max(256).into()),
        ("tags", tags()),
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

/// ImportMSPBody and EditMspBody share their fields; neither refuses unknown keys, so
/// exported MSP files import as they are.
fn msp_fields(required: &'static [&'static str]) -> Spec {
    object(
        required,
        vec![
            ("msp_id", msp_id()),
            ("display_name", display_name()),
            ("root_certs", certs(1)),
            ("intermediate_certs", certs(0)),
            ("admins", certs(0)),
            ("tls_root_certs", certs(1)),
        ],
        false,
    )
}

/// ImportMSPBody.
pub fn import_msp() -> Spec {
    msp_fields(&["msp_id", "display_name", "root_certs"])
}

/// EditCaDataBody (`PUT /components/{id}` of a CA).
pub fn edit_ca() -> Spec {
    Spec::Object {
        required: &[],
        properties: vec![
            ("display_name", display_name()),
            ("api_url", http_url()),
            ("operations_url", http_url()),
            ("ca_name", text().into()),
            ("location", location()),
            ("tags", tags()),
            ("preferred_url", preferred_url()),
        ],
        no_extra_keys: true,
        illegal_keys: &[
            "resources",
            "storage",
            "zone",
            "config_override",
            "replicas",
            "version",
            "_id",
            "id",
            "_rev",
            "type",
            "cluster_id",
            "timestamp",
            "edited_timestamp",
        ],
    }
}

/// EditPeerBody.
pub fn edit_peer() -> Spec {
    object(
        &[],
        vec![
            ("display_name", display_name()),
            ("api_url", grpc_url()),
            ("operations_url", http_url()),
            ("grpcwp_url", http_url()),
            ("msp", node_msp()),
            ("msp_id", msp_id()),
            ("location", location()),
            ("tags", tags()),
            ("preferred_url", preferred_url()),
        ],
        true,
    )
}

/// EditOrdererDataBody.
pub fn edit_orderer() -> Spec {
    object(
        &[],
        vec![
            ("cluster_name", text().max(64).into()),
            ("display_name", display_name()),
            ("api_url", grpc_url()),
            ("operations_url", http_url()),
            ("grpcwp_url", http_url()),
            ("osnadmin_url", http_url()),
            ("msp", node_msp()),
            ("msp_id", msp_id()),
            ("consenter_proposal_fin", Spec::Boolean),
            ("location", location()),
            ("systemless", Spec::Boolean),
            ("system_channel_id", text().max(256).into()),
            ("tags", tags()),
            ("preferred_url", preferred_url()),
        ],
        true,
    )
}

/// EditMspBody.
pub fn edit_msp() -> Spec {
    msp_fields(&[])
}

/// CreateCaBody (the parts the mock uses; resources and storage are accepted as given).
pub fn create_ca() -> Spec {
    let identity = object(
        &["name", "pass", "type"],
        vec![
            ("name", text().into()),
            ("pass", text().into()),
            ("type", text().into()),
            ("maxenrollments", number(Some(-1.0), None)),
            ("affiliation", text().into()),
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
                        ("maxenrollments", number(Some(-1.0), None)),
                        ("identities", array(identity.clone(), Some(1), None)),
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
            ("id", component_id()),
            ("display_name", text().into()),
            (
                "config_override",
                object(&["ca"], vec![("ca", config()), ("tlsca", config())], true),
            ),
        ],
        false,
    )
}

fn enrollment_ca() -> Spec {
    let enroll_text = || rule(StringRule::EnrollCharacters).max(255).into();
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
            ("host", rule(StringRule::KnownHost).max(1024).into()),
            ("port", number(Some(1.0), Some(65536.0))),
            ("name", text().into()),
            ("tls_cert", cert()),
            ("enroll_id", enroll_text()),
            ("enroll_secret", enroll_text()),
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
                    (
                        "component",
                        object(&[], vec![("admincerts", certs(0))], false),
                    ),
                    ("ca", enrollment_ca()),
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
            ("id", component_id()),
            ("msp_id", msp_id()),
            ("display_name", text().into()),
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
            ("cluster_name", text().into()),
            ("display_name", text().into()),
            ("msp_id", msp_id()),
            ("crypto", array(node_crypto(), Some(1), None)),
        ],
        false,
    )
}

/// The roles a token may be asked for (case-sensitive here, unlike key creation).
const ROLE_NAMES: &[&str] = &["reader", "writer", "manager"];

/// `POST /identity/token`: extra keys are ignored.
pub fn create_token() -> Spec {
    object(
        &[],
        vec![
            ("roles", array(text().one_of(ROLE_NAMES), None, None)),
            ("expiration_secs", number(Some(10.0), Some(1_296_000.0))),
        ],
        false,
    )
}

/// The query of `GET /components`, `/components/{id}`, `/types/{type}` and `/tags/{tag}`.
pub fn component_query() -> Spec {
    let included = || text().one_of(&["included", "omitted"]).into();
    object(
        &[],
        vec![
            ("deployment_attrs", included()),
            ("parsed_certs", included()),
            ("cache", text().one_of(&["skip", "use"]).into()),
            ("ca_attrs", included()),
        ],
        false,
    )
}

/// Checks `input` against `spec`; `known_hosts` are the `host:port` pairs of every URL
/// of every component the console knows (athena's URL safe list). Answers the messages,
/// empty when the body is valid. `editing` picks the message for illegal keys (PUT).
pub fn validate(spec: &Spec, input: &Value, known_hosts: &[String], editing: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let walk = Walk {
        root: input,
        known_hosts,
        editing,
    };
    walk.field(&mut Vec::new(), input, spec, 0, &mut errors);
    errors
}

struct Walk<'a> {
    root: &'a Value,
    known_hosts: &'a [String],
    editing: bool,
}

/// validation_lib.js gives up this deep (serde_json already stops at 128 on parsing).
const MAX_DEPTH: usize = 256;

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

/// What `String(value)` gives in JavaScript, which `RegExp.test` sees.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

/// What `Number(value)` gives in JavaScript (NaN where it is not a number).
pub fn js_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                0.0
            } else {
                trimmed.parse().unwrap_or(f64::NAN)
            }
        }
        Value::Array(items) => match items.as_slice() {
            [] => 0.0,
            [one] => js_number(&Value::String(js_string(one))),
            _ => f64::NAN,
        },
        Value::Object(_) => f64::NAN,
    }
}

/// JavaScript's `.length`: UTF-16 code units of a string, entries of an array.
fn js_length(value: &Value) -> Option<usize> {
    match value {
        Value::String(s) => Some(s.encode_utf16().count()),
        Value::Array(items) => Some(items.len()),
        _ => None,
    }
}

/// `'a', 'b'` (validation_lib.js build_choices).
fn choices(values: &[&str]) -> String {
    format!("'{}'", values.join("', '"))
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~')
}

fn host_chars_then(rest: &str) -> Option<&str> {
    let end = rest.find(|c: char| !is_url_char(c)).unwrap_or(rest.len());
    (end > 0).then(|| &rest[end..])
}

fn strip_scheme<'s>(text: &'s str, schemes: &[&str]) -> Option<&'s str> {
    schemes.iter().find_map(|scheme| {
        let prefix = format!("{scheme}://");
        let head = text.get(..prefix.len())?;
        head.eq_ignore_ascii_case(&prefix)
            .then(|| &text[prefix.len()..])
    })
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
    fn field(
        &self,
        path: &mut Vec<String>,
        input: &Value,
        spec: &Spec,
        depth: usize,
        errors: &mut Vec<String>,
    ) {
        if depth >= MAX_DEPTH {
            return;
        }
        let name = |path: &[String]| path.join(".");
        let child = |path: &[String], key: &str| name(&[path, &[key.to_string()]].concat());
        if let Spec::Object { required, .. } = spec {
            for key in *required {
                if input.get(key).is_none() {
                    errors.push(format!(
                        "Expected parameter '{}' to exist.",
                        child(path, key)
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
        // "5" (and null, true, []) pass as numbers: athena only checks `!isNaN(input)`.
        let numeric = matches!(spec, Spec::Number { .. }) && !js_number(input).is_nan();
        if expected != actual && !numeric {
            errors.push(format!(
                "Expected parameter '{}' to be of type: '{expected}', but instead was: '{actual}'.",
                name(path)
            ));
        }
        match spec {
            Spec::Object {
                properties,
                no_extra_keys,
                illegal_keys,
                ..
            } => {
                let Some(map) = input.as_object() else {
                    return;
                };
                for (key, property) in properties {
                    if let Some(value) = map.get(*key) {
                        path.push(key.to_string());
                        self.field(path, value, property, depth + 1, errors);
                        path.pop();
                    }
                }
                // Each key is reported once: illegal first, else unknown (`type` is always
                // let through by athena's `ok_fields`).
                let mut reported: Vec<&str> = Vec::new();
                for key in illegal_keys.iter().filter(|key| map.contains_key(**key)) {
                    reported.push(key);
                    errors.push(if self.editing {
                        format!(
                            "Parameter '{}' is either never editable or not editable via this api.",
                            child(path, key)
                        )
                    } else {
                        format!(
                            "Parameter '{}' is automatically populated. It can not be set.",
                            child(path, key)
                        )
                    });
                }
                if *no_extra_keys {
                    for key in map.keys() {
                        let known = key == "type"
                            || reported.contains(&key.as_str())
                            || properties.iter().any(|(known, _)| known == key);
                        if !known {
                            errors.push(format!(
                                "Parameter '{}' is an unknown key for object.",
                                child(path, key)
                            ));
                        }
                    }
                }
            }
            Spec::Array { items, min, max } => {
                let Some(entries) = input.as_array() else {
                    return;
                };
                for (i, entry) in entries.iter().enumerate() {
                    let mut item_path = path.clone();
                    match item_path.last_mut() {
                        Some(last) => last.push_str(&format!("[{i}]")),
                        None => item_path.push(format!("[{i}]")),
                    }
                    self.field(&mut item_path, entry, items, depth + 1, errors);
                }
                if min.is_some_and(|min| entries.len() < min) {
                    errors.push(format!(
                        "Expected parameter '{}' is too small. Array must have >= {} element(s).",
                        name(path),
                        min.unwrap_or_default()
                    ));
                }
                if max.is_some_and(|max| entries.len() > max) {
                    errors.push(format!(
                        "Expected parameter '{}' is too large. Array must have <= {} element(s).",
                        name(path),
                        max.unwrap_or_default()
                    ));
                }
            }
            Spec::Number { min, max } => {
                let number = js_number(input);
                if let Some(min) = min.filter(|min| number < *min) {
                    errors.push(format!(
                        "Parameter '{}' is out of range. Must be >= {min}.",
                        name(path)
                    ));
                }
                if let Some(max) = max.filter(|max| number > *max) {
                    errors.push(format!(
                        "Parameter '{}' is out of range. Must be <= {max}.",
                        name(path)
                    ));
                }
            }
            Spec::String(text) => self.string(path, input, text, errors),
            Spec::Boolean => {}
        }
    }

    fn string(&self, path: &[String], input: &Value, spec: &Text, errors: &mut Vec<String>) {
        let name = path.join(".");
        let text = js_string(input);
        let exact = input.as_str();
        if !spec.one_of.is_empty() && !exact.is_some_and(|s| spec.one_of.contains(&s)) {
            errors.push(format!(
                "Expected parameter '{name}' to be one of these values: {}.",
                choices(spec.one_of)
            ));
        }
        let regex_message = match spec.rule {
            StringRule::HttpUrl | StringRule::GrpcUrl => {
                let valid = if spec.rule == StringRule::HttpUrl {
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
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
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
            StringRule::EnrollCharacters => {
                let invalid = text
                    .chars()
                    .any(|c| c.is_whitespace() || ":/<>#{}%`[]\\^~|\"".contains(c));
                invalid.then(|| {
                    format!("The field '{name}' cannot contain white space or these characters :\\<>#{{}}%`[]\\^~|\"")
                })
            }
            StringRule::Any | StringRule::Base64Certificate | StringRule::KnownHost => None,
        };
        errors.extend(regex_message);
        let length = js_length(input);
        if let Some(min) = spec.min_len.filter(|min| length.is_some_and(|l| l < *min)) {
            errors.push(format!(
                "Expected parameter '{name}' is too short. Must be >= {min} characters."
            ));
        }
        if let Some(max) = spec.max_len.filter(|max| length.is_some_and(|l| l > *max)) {
            errors.push(format!(
                "Expected parameter '{name}' is too long. Must be <= {max} characters."
            ));
        }
        if exact.is_some_and(|s| spec.not_one_of.contains(&s)) {
            errors.push(format!(
                "Parameter '{name}' cannot be any of these values: {}.",
                choices(spec.not_one_of)
            ));
        }
        if spec.rule == StringRule::Base64Certificate && !is_base64_certificate(&text) {
            errors.push(format!(
                "Expected parameter '{name}' to be a Base64 encoded PEM-string."
            ));
        }
        let truthy = !matches!(input, Value::Null | Value::Bool(false))
            && exact != Some("")
            && input.as_f64() != Some(0.0);
        if spec.rule == StringRule::KnownHost && truthy && !self.known_host(path, &text) {
            errors.push(format!("The parameter '{name}' was not found in the list of known URLs. Import a CA using this host & port or change the host and port in this request to a known one"));
        }
    }

    /// The host (with its sibling `port` unless it names one) is in the safe list.
    fn known_host(&self, path: &[String], text: &str) -> bool {
        let host_port = if text.rsplit_once(':').is_some_and(|(_, port)| {
            (1..=5).contains(&port.len()) && port.chars().all(|c| c.is_ascii_digit())
        }) {
            text.to_string()
        } else {
            let parent = &path[..path.len().saturating_sub(1)];
            let port = parent
                .iter()
                .try_fold(self.root, |value, key| value.get(key))
                .and_then(|value| value.get("port"))
                .map(js_string)
                .unwrap_or_default();
            format!("{text}:{port}")
        };
        self.known_hosts.contains(&host_port.to_ascii_lowercase())
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
            validate(&import_ca(), &body, &[], false),
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
            validate(&import_peer(), &body, &[], false),
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
        assert!(!is_http_url("é"));
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
        let unknown = validate(&create_peer(), &body, &[], false);
        assert!(unknown
            .iter()
            .any(|m| m.starts_with("The parameter 'crypto.enrollment.ca.host' was not found")));
        let known = validate(
            &create_peer(),
            &body,
            &["ca.org1.us-east:7054".into()],
            false,
        );
        assert!(!known.iter().any(|m| m.contains("known URLs")), "{known:?}");
        assert_eq!(host_port("http://CA.org1:7054/x").unwrap(), "ca.org1:7054");
        assert_eq!(host_port("https://console").unwrap(), "console:443");
    }

    #[test]
    fn extra_keys_and_short_arrays_are_refused() {
        let body = json!({"display_name": "x", "msp_id": "Org1", "root_certs": []});
        assert_eq!(
            validate(&import_msp(), &body, &[], false),
            vec!["Expected parameter 'root_certs' is too small. Array must have >= 1 element(s)."]
        );
        let body = json!({"display_name": "x", "api_url": "http://ca:7054", "colour": 1,
            "msp": {"ca": {"name": "ca"}, "tlsca": {"name": "tlsca"}, "component": {"tls_cert": "bad"}}});
        assert_eq!(
            validate(&import_ca(), &body, &[], false),
            vec![
                "Expected parameter 'msp.component.tls_cert' to be a Base64 encoded PEM-string.",
                "Parameter 'colour' is an unknown key for object.",
            ]
        );
    }

    #[test]
    fn javascript_coercions_decide_numbers_and_lengths() {
        // `null` is 0 to Number(), so it is in range of nothing >= 10, and not a type error.
        assert_eq!(
            validate(
                &create_token(),
                &json!({"expiration_secs": null}),
                &[],
                false
            ),
            vec!["Parameter 'expiration_secs' is out of range. Must be >= 10."]
        );
        assert!(validate(
            &create_token(),
            &json!({"expiration_secs": "60"}),
            &[],
            false
        )
        .is_empty());
        assert_eq!(
            validate(
                &create_token(),
                &json!({"expiration_secs": 1e300}),
                &[],
                false
            ),
            vec!["Parameter 'expiration_secs' is out of range. Must be <= 1296000."]
        );
        // Lengths count UTF-16 units: 32 emoji are 64 units.
        let long_tag = "🦀".repeat(32);
        assert_eq!(
            validate(&edit_peer(), &json!({"tags": [long_tag]}), &[], true),
            vec!["Expected parameter 'tags[0]' is too long. Must be <= 32 characters."]
        );
    }

    #[test]
    fn illegal_keys_are_reported_once_and_before_unknown_ones() {
        let body = json!({"id": "x", "type": "fabric-ca", "msp": {}, "display_name": "ok"});
        assert_eq!(
            validate(&edit_ca(), &body, &[], true),
            vec![
                "Parameter 'id' is either never editable or not editable via this api.",
                "Parameter 'type' is either never editable or not editable via this api.",
                "Parameter 'msp' is an unknown key for object.",
            ]
        );
        // A peer edit has no illegal keys: `id` is unknown, `type` is let through.
        assert_eq!(
            validate(&edit_peer(), &json!({"id": "x", "type": "y"}), &[], true),
            vec!["Parameter 'id' is an unknown key for object."]
        );
    }
}
