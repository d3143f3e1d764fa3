//! Component records (routes/component_apis.js, libs/component_lib.js): imports one at a
//! time and in bulk, edits, listings by type and tag, deletes, and the public MSP route.

use super::request::{unknown_route, Input};
use super::{bad_request, error_message, json, Console, MockConsole, Refusal};
use crate::console::api::*;
use crate::console::validate::{self, Spec};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The type a body or route names (component_lib.js `fmt_type`: any case, `ca` or
/// `fabric-ca`); `msp-external` records are kept as MSPs.
fn component_type(name: &str) -> Option<ComponentType> {
    match name.to_ascii_uppercase().as_str() {
        "CA" | "FABRIC-CA" => Some(ComponentType::Ca),
        "PEER" | "FABRIC-PEER" => Some(ComponentType::Peer),
        "ORDERER" | "FABRIC-ORDERER" => Some(ComponentType::Orderer),
        "MSP" | "MSP_EXTERNAL" | "MSP-EXTERNAL" => Some(ComponentType::Msp),
        _ => None,
    }
}

/// Route middleware: `POST /components/{type}` and `PUT /components/{type}/{id}` exist for
/// the five type names only (Express lists them); anything else is an unknown route,
/// answered before authentication.
pub(super) async fn only_type_routes(
    Path(params): Path<BTreeMap<String, String>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let segment = params
        .get("component_type")
        .or_else(|| params.get("id"))
        .map(String::as_str)
        .unwrap_or("");
    if route_type(segment).is_some() {
        next.run(request).await
    } else {
        unknown_route()
    }
}

/// The routes `/components/{type}` and `/components/{type}/{id}` exist for these only.
fn route_type(segment: &str) -> Option<ComponentType> {
    match segment {
        "fabric-ca" | "fabric-peer" | "fabric-orderer" | "msp" | "msp-external" => {
            ComponentType::from_route(segment)
        }
        _ => None,
    }
}

fn import_spec(component_type: ComponentType) -> Spec {
    match component_type {
        ComponentType::Ca => validate::import_ca(),
        ComponentType::Peer => validate::import_peer(),
        ComponentType::Orderer => validate::import_orderer(),
        ComponentType::Msp => validate::import_msp(),
    }
}

fn edit_spec(component_type: ComponentType) -> Spec {
    match component_type {
        ComponentType::Ca => validate::edit_ca(),
        ComponentType::Peer => validate::edit_peer(),
        ComponentType::Orderer => validate::edit_orderer(),
        ComponentType::Msp => validate::edit_msp(),
    }
}

/// component_lib.js `fmt_tags`: lowercase, `[a-z0-9-_+!@#$*?:,']` only, at most 32
/// characters, no duplicates, sorted.
pub(super) fn fmt_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|tag| {
            tag.to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_+!@#$*?:,'".contains(*c))
                .take(32)
                .collect()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The string tags of a body's `tags` (anything else counts as none, as in athena).
fn tags_of(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// component_lib.js: names lose `<>` and backticks, URLs also quotes, parentheses and
/// white space (the UI displays them).
fn make_safe(map: &mut Map<String, Value>) {
    for key in ["display_name", "cluster_name", "location"] {
        if let Some(Value::String(text)) = map.get_mut(key) {
            text.retain(|c| !"<>`".contains(c));
        }
    }
    for key in ["api_url", "operations_url", "grpcwp_url", "osnadmin_url"] {
        if let Some(Value::String(text)) = map.get_mut(key) {
            text.retain(|c| !"<>'`()".contains(c) && !c.is_whitespace());
        }
    }
}

/// A record from an import body, which has the answer's shape (`msp.ca`, `msp.tlsca`,
/// `msp.component`); unknown keys are kept. `id` is the wanted id.
fn record_from_body(
    component_type: ComponentType,
    id: &str,
    mut map: Map<String, Value>,
) -> Result<Component, String> {
    for key in ["type", "imported", "id", "_id", "_rev"] {
        map.remove(key);
    }
    // A CA's legacy top-level `tls_cert` is its `msp.component.tls_cert`.
    if let Some(tls_cert) = map.remove("tls_cert") {
        let msp = map
            .entry("msp")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(msp) = msp.as_object_mut() {
            let component = msp
                .entry("component")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(component) = component.as_object_mut() {
                component.entry("tls_cert").or_insert(tls_cert);
            }
        }
    }
    map.entry("display_name")
        .or_insert_with(|| Value::String(String::new()));
    map.insert(
        "type".into(),
        serde_json::to_value(component_type).unwrap_or_default(),
    );
    map.insert("id".into(), Value::String(id.to_string()));
    make_safe(&mut map);
    serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())
}

fn is_node(component: &Component) -> bool {
    component.component_type != ComponentType::Msp
}

impl MockConsole {
    /// Timestamps, scheme and tags of a new record (component_lib.js format_input_to_doc).
    pub(super) fn stamp(&self, mut component: Component, location: Option<String>) -> Component {
        component.timestamp = Some(self.clock.unix_ms());
        component.scheme_version = Some("v1".into());
        component.location = location.or(Some("-".into()));
        let mut tags = std::mem::take(&mut component.tags);
        tags.push(component.component_type.as_str().to_string());
        component.tags = fmt_tags(&tags);
        component
    }

    /// component_lib.js `onboard_component`: validates (unless bulk), builds the record and
    /// stores it.
    fn import(
        &self,
        component_type: ComponentType,
        body: &Value,
        validated: bool,
    ) -> Result<Component, Refusal> {
        if validated {
            let errors = validate::validate(
                &import_spec(component_type),
                body,
                &self.known_hosts(),
                false,
            );
            if !errors.is_empty() {
                return Err(super::refuse(errors));
            }
        }
        let Some(map) = body.as_object().cloned() else {
            return Err(Box::new(bulk_type_error("undefined")));
        };
        let mut store = self.lock();
        let nodes = store.components.values().filter(|c| is_node(c)).count();
        if nodes > self.config.limits.max_components {
            return Err(Box::new(super::limit_reached()));
        }
        // A given id is used as it is (4 attempts, then 409); else one is built from the
        // name.
        let id = match map.get("id").and_then(Value::as_str) {
            Some(id) if store.components.contains_key(id) => {
                return Err(Box::new(error_message(
                    StatusCode::CONFLICT,
                    "unable to onboard component b/c of id conflict. use a different component id.",
                    None,
                )))
            }
            Some(id) => id.to_string(),
            None => {
                let wanted = map
                    .get("dep_component_id")
                    .or_else(|| map.get("display_name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.build_id(wanted, &store.components)
            }
        };
        let record =
            record_from_body(component_type, &id, map).map_err(|e| super::refuse(vec![e]))?;
        let location = record.location.clone();
        let record = self.stamp(record, location);
        store.put(record.clone())?;
        Ok(record)
    }
}

fn bulk_type_error(type_name: &str) -> Response {
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &serde_json::json!({"statusCode": 500, "msg": [format!(
            "invalid component type or missing component data in body. type: {type_name}"
        )]}),
    )
}

fn answer(result: Result<Component, Refusal>) -> Response {
    match result {
        Ok(record) => json(StatusCode::OK, &record),
        Err(refusal) => *refusal,
    }
}

/// `POST /components` with the type in the body.
pub(super) async fn import_untyped(State(console): Console, Input(mut body): Input) -> Response {
    let wanted = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(component_type);
    let Some(component_type) = wanted else {
        return bad_request(vec![
            "Expected the component 'type' to be in the body or route.".into(),
        ]);
    };
    if let Some(map) = body.as_object_mut() {
        // athena decides `imported`, and the type is not part of the schema.
        map.remove("type");
        map.remove("imported");
    }
    answer(console.import(component_type, &body, true))
}

/// `POST /components/{fabric-ca|fabric-peer|fabric-orderer|msp|msp-external}`.
pub(super) async fn import_typed(
    State(console): Console,
    Path(segment): Path<String>,
    Input(mut body): Input,
) -> Response {
    let Some(component_type) = route_type(&segment) else {
        return unknown_route();
    };
    if let Some(map) = body.as_object_mut() {
        map.remove("type");
        map.remove("imported");
    }
    answer(console.import(component_type, &body, true))
}

/// `POST /components/bulk`: no schema validation (component_apis.js); each entry needs a
/// type, valid entries are stored, the others reported; 207 if any failed.
pub(super) async fn import_bulk(State(console): Console, Input(body): Input) -> Response {
    let entries: Vec<Value> = match body {
        Value::Array(entries) => entries,
        // `async.eachLimit` walks an object's values.
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut answer = BulkImportResponse::default();
    for entry in entries {
        let named = entry.get("type").and_then(Value::as_str);
        let result = match named.and_then(component_type) {
            Some(t) => console.import(t, &entry, false),
            None if entry.is_object() => Err(Box::new(bulk_type_error("null"))),
            None => Err(Box::new(bulk_type_error("undefined"))),
        };
        match result {
            Ok(record) => answer.successes.push(record),
            Err(refusal) => answer.errors.push(response_json(*refusal).await),
        }
    }
    let status = if answer.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    json(status, &answer)
}

async fn response_json(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The query as Express's `qs` reads it: repeated keys make an array.
fn query_value(query: Option<&str>) -> Value {
    let mut map = Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(&text.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (key, value) = (decode(key), Value::String(decode(value)));
        match map.get_mut(&key) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                map.insert(key, value);
            }
        }
    }
    Value::Object(map)
}

/// The listing routes' query (`deployment_attrs`, `parsed_certs`, `cache`, `ca_attrs`);
/// `ca_attrs` is refused by the tag and type routes (validation_lib.js ca_attrs_unsupported).
fn check_query(query: Option<&str>, ca_attrs_allowed: bool) -> Result<(), Refusal> {
    let query = query_value(query);
    let mut errors = validate::validate(&validate::component_query(), &query, &[], false);
    if !ca_attrs_allowed && query.get("ca_attrs").is_some_and(|v| v != "") {
        errors.push("The query parameter 'ca_attrs' is not supported by this route.".into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(super::refuse(errors))
    }
}

/// Answers a listing; none found is status 222 without `statusCode` (component_apis.js),
/// `no components exist` when the console holds none at all.
fn listing(console: &MockConsole, wanted: impl Fn(&Component) -> bool, none: &str) -> Response {
    let all = console.components();
    let components: Vec<Component> = all.iter().filter(|c| wanted(c)).cloned().collect();
    if components.is_empty() {
        let msg = if all.is_empty() {
            "no components exist"
        } else {
            none
        };
        let status = StatusCode::from_u16(222).unwrap_or(StatusCode::OK);
        return json(
            status,
            &ComponentList {
                components,
                msg: Some(msg.into()),
                reason: Some("missing".into()),
            },
        );
    }
    json(
        StatusCode::OK,
        &ComponentList {
            components,
            msg: None,
            reason: None,
        },
    )
}

/// `GET /components`: 200 even when empty (deployer_lib.js turns the 222 into a success).
pub(super) async fn list(State(console): Console, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = check_query(query.as_deref(), true) {
        return *e;
    }
    json(
        StatusCode::OK,
        &ComponentList {
            components: console.components(),
            msg: None,
            reason: None,
        },
    )
}

/// `GET /components/types/{type}`: the four types only (`msp-external` too is an unknown
/// route).
pub(super) async fn list_by_type(
    State(console): Console,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let wanted = match segment.as_str() {
        "fabric-ca" | "fabric-peer" | "fabric-orderer" | "msp" => {
            ComponentType::from_route(&segment)
        }
        _ => None,
    };
    let Some(wanted) = wanted else {
        return unknown_route();
    };
    if let Err(e) = check_query(query.as_deref(), false) {
        return *e;
    }
    listing(
        &console,
        |c| c.component_type == wanted,
        "no components by type exist",
    )
}

pub(super) async fn list_by_tag(
    State(console): Console,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(e) = check_query(query.as_deref(), false) {
        return *e;
    }
    let tag = tag.to_lowercase();
    listing(
        &console,
        |c| c.tags.contains(&tag),
        "no components by tag exist",
    )
}

/// `DELETE /components/tags/{tag}`: removes the records (never the nodes); none is 404.
pub(super) async fn delete_by_tag(State(console): Console, Path(tag): Path<String>) -> Response {
    let tag = tag.to_lowercase();
    let mut store = console.lock();
    let ids: Vec<String> = store
        .components
        .values()
        .filter(|c| c.tags.contains(&tag))
        .map(|c| c.id.clone())
        .collect();
    if ids.is_empty() {
        let msg = if store.components.is_empty() {
            "no components exist"
        } else {
            "no components by tag exist"
        };
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"statusCode": 404, "msg": msg, "reason": "missing", "components": []}),
        );
    }
    let removed: Vec<DeleteComponentResponse> = ids
        .iter()
        .filter_map(|id| store.take(id))
        .map(deleted)
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "removed": removed }))
}

fn deleted(removed: Component) -> DeleteComponentResponse {
    DeleteComponentResponse {
        message: "deleted".into(),
        id: removed.id,
        display_name: Some(removed.display_name),
        component_type: Some(removed.component_type),
    }
}

fn not_found() -> Response {
    error_message(
        StatusCode::NOT_FOUND,
        "no components by this id exist",
        Some("missing"),
    )
}

pub(super) async fn get(
    State(console): Console,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(e) = check_query(query.as_deref(), true) {
        return *e;
    }
    match console.lock().components.get(&id) {
        Some(component) => json(StatusCode::OK, component),
        None => not_found(),
    }
}

pub(super) async fn delete(State(console): Console, Path(id): Path<String>) -> Response {
    match console.lock().take(&id) {
        Some(removed) => json(StatusCode::OK, &deleted(removed)),
        None => not_found(),
    }
}

/// component_lib.js `edit_component`: these keys are dropped when null or empty ...
const KEEP_UNLESS_SET: &[&str] = &[
    "display_name",
    "version",
    "storage",
    "resources",
    "state_db",
    "tags",
    "region",
    "zone",
    "arch",
    "replicas",
    "resource_warnings",
    "config_override",
    "tls_cert",
    "ca_root_certs",
    "tls_ca_root_certs",
    "ecert",
    "admin_certs",
    "tlsca_name",
    "ca_name",
];

/// ... and these never change.
const NOT_EDITABLE: &[&str] = &[
    "type",
    "cluster_id",
    "_id",
    "_rev",
    "id",
    "timestamp",
    "edited_timestamp",
];

/// An orderer's cluster-wide fields, edited on every node of the cluster.
const CLUSTER_FIELDS: &[&str] = &["cluster_name", "system_channel_id"];

/// Applies a validated edit to a record (as JSON): athena copies every other key in, and
/// an edit's `msp` replaces only the certificates it names.
fn apply_edit(record: &mut Map<String, Value>, mut changes: Map<String, Value>) {
    let alias = ["name", "display_name", "short_name"]
        .iter()
        .find_map(|key| changes.get(*key).filter(|v| truthy(v)).cloned());
    for key in ["name", "short_name"] {
        changes.remove(key);
    }
    if let Some(name) = alias {
        changes.insert("display_name".into(), name);
    }
    for key in KEEP_UNLESS_SET {
        if changes
            .get(*key)
            .is_some_and(|v| v.is_null() || v.as_str() == Some(""))
        {
            changes.remove(*key);
        }
    }
    for key in NOT_EDITABLE {
        changes.remove(*key);
    }
    if let Some(Value::String(ca_name)) = changes.remove("ca_name") {
        set_msp_leaf(record, "ca", "name", Value::String(ca_name));
    }
    if let Some(Value::Object(msp)) = changes.remove("msp") {
        for (part, fields) in msp {
            for (leaf, value) in fields.as_object().into_iter().flatten() {
                if !value.is_null() {
                    set_msp_leaf(record, &part, leaf, value.clone());
                }
            }
        }
    }
    if changes.contains_key("tags") {
        let tags = tags_of(changes.remove("tags").as_ref());
        record.insert("tags".into(), serde_json::json!(tags));
    }
    for (key, value) in changes {
        record.insert(key, value);
    }
    make_safe(record);
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
        && value.as_str() != Some("")
        && value.as_f64() != Some(0.0)
}

fn set_msp_leaf(record: &mut Map<String, Value>, part: &str, leaf: &str, value: Value) {
    let msp = record
        .entry("msp")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(msp) = msp.as_object_mut() {
        let part = msp.entry(part).or_insert_with(|| Value::Object(Map::new()));
        if let Some(part) = part.as_object_mut() {
            part.insert(leaf.to_string(), value);
        }
    }
}

/// `PUT /components/{id}` and `/components/{type}/{id}`: the record is loaded first
/// (unknown id: 404 whatever the body), then the body is validated against the stored
/// record's type, whatever type the route names.
async fn edit_record(console: &MockConsole, id: &str, body: Value) -> Response {
    let Some(current) = console.lock().components.get(id).cloned() else {
        return not_found();
    };
    let errors = validate::validate(&edit_spec(current.component_type), &body, &[], true);
    if !errors.is_empty() {
        return bad_request(errors);
    }
    let Value::Object(changes) = body else {
        return bad_request(vec![
            "Expected parameter '' to be of type: 'object', but instead was: 'array'.".into(),
        ]);
    };
    let cluster_edit = CLUSTER_FIELDS.iter().any(|k| changes.contains_key(*k));
    let Ok(Value::Object(mut doc)) = serde_json::to_value(&current) else {
        return not_found();
    };
    apply_edit(&mut doc, changes);
    let mut record: Component = match serde_json::from_value(Value::Object(doc)) {
        Ok(record) => record,
        Err(e) => return bad_request(vec![e.to_string()]),
    };
    let mut tags = std::mem::take(&mut record.tags);
    tags.push(record.component_type.as_str().to_string());
    record.tags = fmt_tags(&tags);
    record.edited_timestamp = Some(console.clock.unix_ms());
    let mut store = console.lock();
    if let (true, Some(cluster_id)) = (cluster_edit, record.cluster_id.clone()) {
        for other in store
            .components
            .values_mut()
            .filter(|c| c.cluster_id.as_ref() == Some(&cluster_id))
        {
            other.cluster_name = record.cluster_name.clone();
            other.system_channel_id = record.system_channel_id.clone();
        }
    }
    if let Err(refusal) = store.put(record.clone()) {
        return *refusal;
    }
    record.message = Some("ok".into());
    json(StatusCode::OK, &record)
}

pub(super) async fn edit(
    State(console): Console,
    Path(id): Path<String>,
    Input(body): Input,
) -> Response {
    edit_record(&console, &id, body).await
}

pub(super) async fn edit_typed(
    State(console): Console,
    Path(params): Path<BTreeMap<String, String>>,
    Input(body): Input,
) -> Response {
    edit_record(
        &console,
        params.get("id").map(String::as_str).unwrap_or(""),
        body,
    )
    .await
}

/// `GET /components/msps/{msp_id}`: public on purpose (signature_collection_apis.js),
/// other orgs' consoles ask for it.
pub(super) async fn msp_certificates(
    State(console): Console,
    Path(msp_id): Path<String>,
) -> Response {
    let msps: Vec<MspPublicData> = console
        .components()
        .into_iter()
        .filter(|c| c.component_type == ComponentType::Msp && c.msp_id.as_deref() == Some(&msp_id))
        .map(|c| MspPublicData {
            msp_id: msp_id.clone(),
            root_certs: c.root_certs.unwrap_or_default(),
            admins: c.admins.unwrap_or_default(),
            tls_root_certs: c.tls_root_certs.unwrap_or_default(),
        })
        .collect();
    if msps.is_empty() {
        return error_message(
            StatusCode::BAD_REQUEST,
            &format!("MSP {msp_id} not found"),
            None,
        );
    }
    json(StatusCode::OK, &MspCertificates { msps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_are_formatted_as_athena_does() {
        let tags = ["Dev", "dev", "a b<c>", "fabric-ca", &"x".repeat(40)].map(String::from);
        assert_eq!(
            fmt_tags(&tags),
            vec!["abc", "dev", "fabric-ca", &"x".repeat(32)]
        );
    }

    #[test]
    fn queries_repeat_into_arrays() {
        assert_eq!(
            query_value(Some("cache=skip&cache=use&x=a%20b+c")),
            json!({"cache": ["skip", "use"], "x": "a b c"})
        );
        assert!(check_query(Some("cache=skip"), false).is_ok());
        assert!(check_query(Some("cache=later"), true).is_err());
        assert!(check_query(Some("ca_attrs=included"), false).is_err());
        assert!(check_query(Some("ca_attrs=included"), true).is_ok());
    }

    #[test]
    fn an_edit_keeps_what_it_does_not_name() {
        let mut record = json!({"display_name": "Peer", "api_url": "grpcs://p:7051",
            "msp": {"tlsca": {"root_certs": ["A"]}, "component": {"tls_cert": "T", "ecert": "E"}}})
        .as_object()
        .cloned()
        .unwrap();
        let changes = json!({"display_name": "", "msp": {"component": {"tls_cert": "T2"}},
            "preferred_url": "os", "type": "x"});
        apply_edit(&mut record, changes.as_object().cloned().unwrap());
        assert_eq!(record["display_name"], "Peer");
        assert_eq!(
            record["msp"]["component"],
            json!({"tls_cert": "T2", "ecert": "E"})
        );
        assert_eq!(record["msp"]["tlsca"]["root_certs"], json!(["A"]));
        assert_eq!(record["preferred_url"], "os");
        assert!(record.get("type").is_none());
    }
}
