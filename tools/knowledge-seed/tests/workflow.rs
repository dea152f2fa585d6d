//! Checks of the n8n agent workflow `compose/n8n/workflows/*.json` against what it talks to:
//!
//! - every node's `type@typeVersion` is one n8n can load (`compose/n8n/known-node-types.txt`,
//!   derived from n8n's npm packages by `scripts/known-node-types.sh`);
//! - every connection's source and target name an existing node, with a known connection type;
//! - every `httpRequestTool` calls an operation of our OpenAPI documents (the host expression
//!   `{{ $env.GADAI_INTAKE_URL }}` / `{{ $env.GADAI_DASHBOARD_URL }}` picks the document; the path
//!   and method must match an operation), sends `X-API-Key: {{ $env.APPS_KEY }}` (the documents'
//!   API-key scheme), sends only headers the operation declares, and its JSON body (expressions
//!   replaced by placeholders) has only properties the request schema accepts and every required
//!   one;
//! - `$fromAI()` keys are valid and consistent within a node (n8n refuses the tool otherwise);
//! - nodes' credentials are the templates in `compose/n8n/credentials/`, which hold no secrets;
//! - the agent has the parts the issue asks for, wired to the seeder's collection and payload keys.
//!
//! The last tests break a copy of the workflow in each of these ways and expect the checks to say so.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use knowledge_seed::qdrant::{CONTENT_KEY, METADATA_KEY};
use knowledge_seed::seed::{DEFAULT_COLLECTION, DEFAULT_EMBED_MODEL};
use serde_json::{Value, json};

const HTTP_TOOL: &str = "n8n-nodes-base.httpRequestTool";
const AGENT: &str = "@n8n/n8n-nodes-langchain.agent";
const CONNECTION_TYPES: &[&str] = &[
    "main",
    "ai_languageModel",
    "ai_memory",
    "ai_tool",
    "ai_embedding",
    "ai_vectorStore",
    "ai_document",
    "ai_textSplitter",
    "ai_outputParser",
    "ai_retriever",
    "ai_reranker",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn workflows() -> Vec<(String, Value)> {
    json_files("compose/n8n/workflows")
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read_json(&p),
            )
        })
        .collect()
}

fn agent_workflow() -> Value {
    read_json(&repo().join("compose/n8n/workflows/pegadaian-cs.json"))
}

fn known_node_types() -> HashSet<String> {
    let text = std::fs::read_to_string(repo().join("compose/n8n/known-node-types.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Our OpenAPI documents, by the environment variable the workflow names their host with.
struct Api {
    service: &'static str,
    doc: Value,
}

fn apis() -> HashMap<&'static str, Api> {
    let load = |service: &'static str| Api {
        service,
        doc: read_json(&repo().join(format!("services/{service}/openapi.json"))),
    };
    HashMap::from([
        ("GADAI_INTAKE_URL", load("order-intake")),
        ("GADAI_DASHBOARD_URL", load("dashboard-api")),
    ])
}

struct Credential {
    name: String,
    kind: String,
    data: Value,
}

fn credential_templates() -> HashMap<String, Credential> {
    json_files("compose/n8n/credentials")
        .into_iter()
        .map(|p| {
            let c = read_json(&p);
            let field = |k: &str| {
                c[k].as_str()
                    .unwrap_or_else(|| panic!("{}: no {k}", p.display()))
                    .to_owned()
            };
            (
                field("id"),
                Credential {
                    name: field("name"),
                    kind: field("type"),
                    data: c["data"].clone(),
                },
            )
        })
        .collect()
}

fn nodes(wf: &Value) -> &Vec<Value> {
    wf["nodes"].as_array().expect("`nodes` is a list")
}

fn node<'a>(wf: &'a Value, name: &str) -> &'a Value {
    nodes(wf)
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name:?}"))
}

/// `typeVersion` as n8n writes it: `1`, `4.2`.
fn version(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => format!("{v}"),
    }
}

// ---- structure, types, connections -------------------------------------------------------

fn check_structure(wf: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for key in ["name", "nodes", "connections", "settings"] {
        if wf.get(key).is_none() {
            problems.push(format!("the workflow has no `{key}`"));
        }
    }
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    for n in nodes(wf) {
        let name = n["name"].as_str().unwrap_or("?");
        for key in ["id", "name", "type"] {
            if !n[key].is_string() {
                problems.push(format!("node {name:?}: `{key}` must be a string"));
            }
        }
        if !n["typeVersion"].is_number() {
            problems.push(format!("node {name:?}: `typeVersion` must be a number"));
        }
        if !n["parameters"].is_object() {
            problems.push(format!("node {name:?}: `parameters` must be an object"));
        }
        if n["position"]
            .as_array()
            .is_none_or(|p| p.len() != 2 || !p.iter().all(Value::is_number))
        {
            problems.push(format!("node {name:?}: `position` must be [x, y]"));
        }
        if !names.insert(name.to_owned()) {
            problems.push(format!("two nodes are named {name:?}"));
        }
        if !ids.insert(n["id"].to_string()) {
            problems.push(format!("node {name:?}: duplicate id {}", n["id"]));
        }
    }
    problems
}

fn check_node_types(wf: &Value, known: &HashSet<String>) -> Vec<String> {
    nodes(wf)
        .iter()
        .filter_map(|n| {
            let t = format!(
                "{}@{}",
                n["type"].as_str().unwrap_or("?"),
                version(&n["typeVersion"])
            );
            (!known.contains(&t)).then(|| {
                format!(
                    "node {}: unknown node type {t} (not in known-node-types.txt)",
                    n["name"]
                )
            })
        })
        .collect()
}

fn check_connections(wf: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let names: HashSet<&str> = nodes(wf)
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    let Some(connections) = wf["connections"].as_object() else {
        return vec!["`connections` must be an object".into()];
    };
    for (source, outputs) in connections {
        if !names.contains(source.as_str()) {
            problems.push(format!("connection source {source:?} is no node"));
        }
        let Some(outputs) = outputs.as_object() else {
            problems.push(format!("connections of {source:?} must be an object"));
            continue;
        };
        for (kind, slots) in outputs {
            if !CONNECTION_TYPES.contains(&kind.as_str()) {
                problems.push(format!("{source:?}: unknown connection type {kind:?}"));
            }
            for slot in slots.as_array().into_iter().flatten() {
                for link in slot.as_array().into_iter().flatten() {
                    let target = link["node"].as_str().unwrap_or("?");
                    if !names.contains(target) {
                        problems.push(format!("{source:?} -> {target:?}: the target is no node"));
                    }
                    if link["type"].as_str() != Some(kind.as_str()) {
                        problems.push(format!(
                            "{source:?} -> {target:?}: link type {} under {kind:?}",
                            link["type"]
                        ));
                    }
                    if !link["index"].is_u64() {
                        problems.push(format!(
                            "{source:?} -> {target:?}: `index` must be a whole number"
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// The nodes connected into `target` with connection type `kind`.
fn inputs<'a>(wf: &'a Value, target: &str, kind: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (source, outputs) in wf["connections"].as_object().unwrap() {
        for slot in outputs[kind].as_array().into_iter().flatten() {
            for link in slot.as_array().into_iter().flatten() {
                if link["node"] == target {
                    out.push(source.as_str());
                }
            }
        }
    }
    out.sort();
    out
}

/// The nodes `source`'s main outputs lead to.
fn main_targets<'a>(wf: &'a Value, source: &str) -> Vec<&'a str> {
    wf["connections"][source]["main"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|slot| slot.as_array().into_iter().flatten())
        .filter_map(|l| l["node"].as_str())
        .collect()
}

// ---- expressions -------------------------------------------------------------------------

/// Replaces every `{{ ... }}` expression of an n8n template by `null`.
fn placeholders(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("unclosed {{ in an expression");
        out.push_str("null");
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `={{ $env.NAME }}/path` -> (`NAME`, `/path`).
fn split_host(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("={{")?;
    let end = rest.find("}}")?;
    let env = rest[..end].trim().strip_prefix("$env.")?;
    Some((env, &rest[end + 2..]))
}

/// One `$fromAI(key, description, type)` call.
#[derive(Debug, PartialEq)]
struct FromAi {
    key: String,
    description: Option<String>,
    kind: String,
}

/// Finds the `$fromAI(...)` calls in a string, parsing quoted arguments as n8n does.
fn from_ai_calls(text: &str) -> Vec<FromAi> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("$fromAI(") {
        let mut args = Vec::new();
        let mut current = String::new();
        let mut quote: Option<char> = None;
        let mut chars = rest[pos + 8..].char_indices();
        let mut consumed = rest.len() - pos - 8;
        while let Some((i, c)) = chars.next() {
            match quote {
                Some(_) if c == '\\' => {
                    if let Some((_, next)) = chars.next() {
                        current.push(next);
                    }
                }
                Some(q) if c == q => quote = None,
                Some(_) => current.push(c),
                None if c == '\'' || c == '"' || c == '`' => quote = Some(c),
                None if c == ',' => args.push(std::mem::take(&mut current).trim().to_owned()),
                None if c == ')' => {
                    args.push(std::mem::take(&mut current).trim().to_owned());
                    consumed = i + 1;
                    break;
                }
                None => current.push(c),
            }
        }
        calls.push(FromAi {
            key: args.first().cloned().unwrap_or_default(),
            description: args.get(1).cloned(),
            kind: args
                .get(2)
                .cloned()
                .unwrap_or_else(|| "string".into())
                .to_lowercase(),
        });
        rest = &rest[pos + 8 + consumed..];
    }
    calls
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// n8n's rules for `$fromAI` in a tool node (`getSchema` in n8n-core's create-node-as-tool):
/// keys of 1 to 64 letters, digits, `_` or `-`; calls with one key agree on description and type.
fn check_from_ai(wf: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for n in nodes(wf) {
        let mut strings = Vec::new();
        strings_in(&n["parameters"], &mut strings);
        let mut seen: HashMap<String, FromAi> = HashMap::new();
        for call in strings.iter().flat_map(|s| from_ai_calls(s)) {
            let valid = (1..=64).contains(&call.key.len())
                && call
                    .key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                problems.push(format!(
                    "node {}: invalid $fromAI key {:?}",
                    n["name"], call.key
                ));
            }
            if !["string", "number", "boolean", "json"].contains(&call.kind.as_str()) {
                problems.push(format!(
                    "node {}: $fromAI({}) has type {:?}",
                    n["name"], call.key, call.kind
                ));
            }
            match seen.get(&call.key) {
                Some(first) if first != &call => problems.push(format!(
                    "node {}: duplicate $fromAI key {:?} with a different description or type",
                    n["name"], call.key
                )),
                Some(_) => {}
                None => {
                    seen.insert(call.key.clone(), call);
                }
            }
        }
    }
    problems
}

// ---- OpenAPI -----------------------------------------------------------------------------

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
        ),
        None => schema,
    }
}

fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

fn type_allows(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => {
            t == kind
                || (kind == "number" && t == "integer")
                || (kind == "integer" && t == "number")
        }
        Value::Array(ts) => ts.iter().any(|t| type_allows(&json!({ "type": t }), kind)),
        _ => true,
    }
}

/// Checks a body (expressions replaced by `null`) against a request schema: object keys must be
/// properties, required properties present, literals of an allowed type; arrays item by item.
fn check_value(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        return; // an expression: its value is only known when the agent calls the tool
    }
    if let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let mut first_problems = None;
        for variant in variants {
            let mut p = Vec::new();
            check_value(doc, variant, value, at, &mut p);
            if p.is_empty() {
                return;
            }
            let kind_fits = match value {
                Value::Object(_) => type_allows(resolve(doc, variant), "object"),
                Value::Array(_) => type_allows(resolve(doc, variant), "array"),
                _ => false,
            };
            if kind_fits && first_problems.is_none() {
                first_problems = Some(p);
            }
        }
        out.extend(
            first_problems
                .unwrap_or_else(|| vec![format!("`{at}` matches no variant of the schema")]),
        );
        return;
    }
    let kind = match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::Null => unreachable!(),
    };
    if !type_allows(schema, kind) {
        out.push(format!(
            "`{at}` is {kind}, the schema wants {}",
            schema["type"]
        ));
        return;
    }
    match value {
        Value::Object(map) => {
            let empty = serde_json::Map::new();
            let props = schema["properties"].as_object().unwrap_or(&empty);
            let open = schema["additionalProperties"] == json!(true);
            for (key, v) in map {
                match props.get(key) {
                    Some(prop) => check_value(doc, prop, v, &format!("{at}.{key}"), out),
                    None if open => {}
                    None => out.push(format!(
                        "`{at}.{key}` is not a property the request schema accepts"
                    )),
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let required = required.as_str().unwrap_or_default();
                if !map.contains_key(required) {
                    out.push(format!("`{at}` lacks the required property `{required}`"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_value(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The header name of the document's API-key security scheme.
fn api_key_header(doc: &Value) -> Option<String> {
    doc["components"]["securitySchemes"]
        .as_object()?
        .values()
        .find_map(|s| {
            (s["type"] == "apiKey" && s["in"] == "header")
                .then(|| s["name"].as_str().unwrap_or_default().to_owned())
        })
}

fn check_http_tools(wf: &Value, apis: &HashMap<&str, Api>) -> Vec<String> {
    let mut problems = Vec::new();
    for n in nodes(wf).iter().filter(|n| n["type"] == HTTP_TOOL) {
        let name = n["name"].as_str().unwrap_or("?");
        let mut say = |s: String| problems.push(format!("tool {name:?}: {s}"));
        let p = &n["parameters"];
        let method = p["method"].as_str().unwrap_or("GET").to_lowercase();
        let url = p["url"].as_str().unwrap_or_default();
        let Some((env, path)) = split_host(url) else {
            say(format!(
                "url {url:?} must start with a host expression such as {{{{ $env.GADAI_INTAKE_URL }}}}"
            ));
            continue;
        };
        let Some(api) = apis.get(env) else {
            say(format!(
                "url host $env.{env} is none of {:?}",
                apis.keys().collect::<Vec<_>>()
            ));
            continue;
        };
        let doc = &api.doc;
        let operation = doc["paths"].as_object().and_then(|paths| {
            paths
                .iter()
                .find(|(t, _)| path_matches(t, path))
                .map(|(_, item)| &item[&method])
        });
        let operation = match operation {
            Some(op) if op.is_object() => op,
            Some(_) => {
                say(format!(
                    "{} {path} has no such method in {}'s OpenAPI document",
                    method.to_uppercase(),
                    api.service
                ));
                continue;
            }
            None => {
                say(format!(
                    "{} {path} is no operation of {}'s OpenAPI document",
                    method.to_uppercase(),
                    api.service
                ));
                continue;
            }
        };

        // Headers: the API key, and otherwise only declared header parameters.
        let headers: Vec<(String, String)> = if p["sendHeaders"] == true {
            p["headerParameters"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| {
                    (
                        h["name"].as_str().unwrap_or_default().to_owned(),
                        h["value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let key_header = api_key_header(doc).unwrap_or_else(|| "X-API-Key".into());
        if !key_header.eq_ignore_ascii_case("X-API-Key") {
            say(format!(
                "{}'s document names the API key header {key_header:?}",
                api.service
            ));
        }
        match headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case("X-API-Key"))
        {
            Some((_, value)) if value == "={{ $env.APPS_KEY }}" => {}
            Some((_, value)) => say(format!(
                "X-API-Key must be {{{{ $env.APPS_KEY }}}}, is {value:?}"
            )),
            None => say("does not send the X-API-Key header".into()),
        }
        let declared: Vec<&Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|param| resolve(doc, param))
            .filter(|param| param["in"] == "header")
            .collect();
        for (header, _) in &headers {
            let known = header.eq_ignore_ascii_case("X-API-Key")
                || header.eq_ignore_ascii_case("Content-Type")
                || header.eq_ignore_ascii_case("Accept")
                || declared.iter().any(|d| {
                    d["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(header))
                });
            if !known {
                say(format!(
                    "sends header {header:?}, which the operation does not declare"
                ));
            }
        }
        for d in &declared {
            let dname = d["name"].as_str().unwrap_or_default();
            if d["required"] == true && !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(dname))
            {
                say(format!("does not send the required header {dname:?}"));
            }
        }

        // Body.
        let body_schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        let sends_body = p["sendBody"] == true;
        if body_schema.is_null() {
            if sends_body {
                say("sends a body, but the operation takes none".into());
            }
            continue;
        }
        if !sends_body {
            if operation["requestBody"]["required"] == true {
                say("sends no body, but the operation requires one".into());
            }
            continue;
        }
        if p["contentType"].as_str().is_some_and(|c| c != "json") || p["specifyBody"] != "json" {
            say("the body must be JSON given as `specifyBody: json`".into());
            continue;
        }
        let template = p["jsonBody"].as_str().unwrap_or_default();
        let template = template.strip_prefix('=').unwrap_or(template);
        let body: Value = match serde_json::from_str(&placeholders(template)) {
            Ok(v) => v,
            Err(e) => {
                say(format!(
                    "jsonBody is not JSON once its expressions are replaced: {e}"
                ));
                continue;
            }
        };
        let mut body_problems = Vec::new();
        check_value(doc, body_schema, &body, "body", &mut body_problems);
        for b in body_problems {
            say(format!("{} {path}: {b}", method.to_uppercase()));
        }
    }
    problems
}

// ---- credentials -------------------------------------------------------------------------

const SECRET_FIELDS: &[&str] = &[
    "password",
    "apiKey",
    "accessToken",
    "token",
    "secret",
    "privateKey",
    "passphrase",
    "value",
];

fn check_credentials(wf: &Value, templates: &HashMap<String, Credential>) -> Vec<String> {
    let mut problems = Vec::new();
    for n in nodes(wf) {
        for (kind, reference) in n["credentials"].as_object().into_iter().flatten() {
            let id = reference["id"].as_str().unwrap_or_default();
            match templates.get(id) {
                None => problems.push(format!(
                    "node {}: credential id {id:?} has no template in compose/n8n/credentials",
                    n["name"]
                )),
                Some(t) => {
                    if &t.kind != kind {
                        problems.push(format!(
                            "node {}: credential {id:?} is a {}, the node wants {kind}",
                            n["name"], t.kind
                        ));
                    }
                    if reference["name"].as_str() != Some(t.name.as_str()) {
                        problems.push(format!(
                            "node {}: credential {id:?} is named {:?} in its template",
                            n["name"], t.name
                        ));
                    }
                }
            }
        }
    }
    problems
}

fn check_no_secrets(templates: &HashMap<String, Credential>) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, t) in templates {
        for (field, value) in t.data.as_object().into_iter().flatten() {
            if !SECRET_FIELDS.contains(&field.as_str()) {
                continue;
            }
            let ok = match value {
                Value::String(s) => {
                    s.is_empty() || (s.starts_with("={{ $env.") && s.ends_with("}}"))
                }
                _ => false,
            };
            if !ok {
                problems.push(format!("credential {id:?}: `{field}` must be empty or an {{{{ $env.NAME }}}} expression"));
            }
        }
    }
    problems
}

fn all_problems(wf: &Value) -> Vec<String> {
    let mut p = check_structure(wf);
    p.extend(check_node_types(wf, &known_node_types()));
    p.extend(check_connections(wf));
    p.extend(check_http_tools(wf, &apis()));
    p.extend(check_from_ai(wf));
    p.extend(check_credentials(wf, &credential_templates()));
    p
}

// ---- the tests ---------------------------------------------------------------------------

#[test]
fn every_workflow_passes_every_check() {
    let all = workflows();
    assert!(!all.is_empty(), "no workflow in compose/n8n/workflows");
    for (file, wf) in all {
        let problems = all_problems(&wf);
        assert!(problems.is_empty(), "{file}:\n  {}", problems.join("\n  "));
        assert!(
            wf["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{file}: give the workflow a fixed `id`"
        );
    }
}

#[test]
fn credential_templates_hold_no_secrets() {
    let templates = credential_templates();
    let kinds: HashSet<&str> = templates.values().map(|t| t.kind.as_str()).collect();
    for kind in ["ollamaApi", "qdrantApi", "postgres", "telegramApi"] {
        assert!(kinds.contains(kind), "no {kind} credential template");
    }
    let problems = check_no_secrets(&templates);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn known_node_types_list_is_derived_and_plausible() {
    let text = std::fs::read_to_string(repo().join("compose/n8n/known-node-types.txt")).unwrap();
    assert!(
        text.starts_with('#') && text.contains("npm"),
        "the list must say how it was derived"
    );
    let known = known_node_types();
    assert!(known.len() > 500, "{} entries", known.len());
    for t in known.iter() {
        let (name, v) = t
            .rsplit_once('@')
            .unwrap_or_else(|| panic!("{t}: not type@version"));
        assert!(
            name.starts_with("n8n-nodes-base.") || name.starts_with("@n8n/n8n-nodes-langchain."),
            "{t}"
        );
        assert!(v.parse::<f64>().is_ok(), "{t}");
    }
}

#[test]
fn the_agent_has_its_parts() {
    let wf = agent_workflow();
    let of_type =
        |t: &str| -> Vec<&Value> { nodes(&wf).iter().filter(|n| n["type"] == t).collect() };
    let enabled = |n: &&Value| n["disabled"] != true;

    // Entries: the n8n chat (always on) and Telegram (shipped disabled: it needs a bot token).
    let chat = of_type("@n8n/n8n-nodes-langchain.chatTrigger");
    assert_eq!(chat.len(), 1);
    assert!(enabled(&chat[0]));
    assert_eq!(chat[0]["parameters"]["public"], true);
    assert_eq!(chat[0]["parameters"]["mode"], "hostedChat");
    assert!(
        chat[0]["webhookId"].is_string(),
        "a fixed webhookId keeps the chat URL stable"
    );
    let telegram = of_type("n8n-nodes-base.telegramTrigger");
    assert_eq!(telegram.len(), 1);
    assert_eq!(
        telegram[0]["disabled"], true,
        "enabled only once a token is set"
    );
    assert!(telegram[0]["credentials"]["telegramApi"].is_object());

    // Both entries reach the agent through the normalising node.
    let agents = of_type(AGENT);
    assert_eq!(agents.len(), 1);
    let agent = agents[0]["name"].as_str().unwrap();
    for trigger in [&chat[0], &telegram[0]] {
        let next = main_targets(&wf, trigger["name"].as_str().unwrap());
        assert_eq!(next.len(), 1);
        assert_eq!(main_targets(&wf, next[0]), [agent]);
    }

    // Model, memory, tools.
    let model = inputs(&wf, agent, "ai_languageModel");
    assert_eq!(model.len(), 1);
    let model = node(&wf, model[0]);
    assert_eq!(model["type"], "@n8n/n8n-nodes-langchain.lmChatOllama");
    assert_eq!(model["parameters"]["model"], "={{ $env.OLLAMA_MODEL }}");
    let memory = inputs(&wf, agent, "ai_memory");
    assert_eq!(memory.len(), 1);
    let memory = node(&wf, memory[0]);
    assert_eq!(
        memory["type"],
        "@n8n/n8n-nodes-langchain.memoryPostgresChat"
    );
    assert_eq!(memory["parameters"]["sessionIdType"], "customKey");
    assert!(
        memory["parameters"]["sessionKey"]
            .as_str()
            .unwrap()
            .contains("sessionId")
    );

    let tools = inputs(&wf, agent, "ai_tool");
    assert_eq!(
        tools,
        [
            "buat_pesanan",
            "cari_pengetahuan",
            "cek_kode_verifikasi",
            "cek_status_pesanan",
            "hitung_pinjaman",
            "hubungi_petugas",
            "kirim_ulang_kode"
        ]
    );
    let paths: HashMap<&str, &str> = tools
        .iter()
        .map(|t| node(&wf, t))
        .filter(|n| n["type"] == HTTP_TOOL)
        .map(|n| {
            (
                n["name"].as_str().unwrap(),
                split_host(n["parameters"]["url"].as_str().unwrap())
                    .unwrap()
                    .1,
            )
        })
        .collect();
    assert_eq!(
        paths,
        HashMap::from([
            ("buat_pesanan", "/api/insert-orders"),
            ("cek_kode_verifikasi", "/dashboard/verify"),
            ("cek_status_pesanan", "/dashboard/customer/status"),
            ("hitung_pinjaman", "/api/quote"),
            ("hubungi_petugas", "/dashboard/customer/handoff"),
            ("kirim_ulang_kode", "/dashboard/customer/resend"),
        ])
    );

    // The knowledge tool reads what knowledge-seed writes.
    let kb = node(&wf, "cari_pengetahuan");
    assert_eq!(kb["type"], "@n8n/n8n-nodes-langchain.vectorStoreQdrant");
    let p = &kb["parameters"];
    assert_eq!(p["mode"], "retrieve-as-tool");
    assert!(
        p["qdrantCollection"]["value"]
            .as_str()
            .unwrap()
            .contains(&format!("'{DEFAULT_COLLECTION}'"))
    );
    assert!(
        p["qdrantCollection"]["value"]
            .as_str()
            .unwrap()
            .contains("$env.QDRANT_COLLECTION")
    );
    assert_eq!(p["options"]["contentPayloadKey"], CONTENT_KEY);
    assert_eq!(p["options"]["metadataPayloadKey"], METADATA_KEY);
    let embedding = inputs(&wf, "cari_pengetahuan", "ai_embedding");
    assert_eq!(embedding.len(), 1);
    let embedding = node(&wf, embedding[0]);
    assert_eq!(
        embedding["type"],
        "@n8n/n8n-nodes-langchain.embeddingsOllama"
    );
    let m = embedding["parameters"]["model"].as_str().unwrap();
    assert!(
        m.contains("$env.OLLAMA_EMBED_MODEL") && m.contains(&format!("'{DEFAULT_EMBED_MODEL}'")),
        "{m}"
    );

    // Models and stores use the credential templates.
    for (n, kind) in [
        (model, "ollamaApi"),
        (embedding, "ollamaApi"),
        (memory, "postgres"),
        (kb, "qdrantApi"),
    ] {
        assert!(
            n["credentials"][kind]["id"].is_string(),
            "{}: no {kind} credential",
            n["name"]
        );
    }
}

#[test]
fn the_system_prompt_keeps_the_rules() {
    let wf = agent_workflow();
    let agent = nodes(&wf).iter().find(|n| n["type"] == AGENT).unwrap();
    let prompt = agent["parameters"]["options"]["systemMessage"]
        .as_str()
        .unwrap();
    for needle in [
        "Bahasa Indonesia",
        "televisi",
        "handphone",
        "kamera",
        "laptop",
        "emas",
        "\"emas antam\"",
        "\"emas UBS\"",
        "gram",
        "sebelum pelanggan menyebut provinsinya",
        "wajib berasal dari hitung_pinjaman",
        "nama lengkap",
        "email",
        "nama barang",
        "kategori",
        "jumlah",
        "estimasi nilai barang",
        "provinsi",
        "tanyakan apakah sudah benar",
        "6 karakter",
        "nomor referensi pengajuan",
        "DUA data dari email yang sama",
        "24 jam",
        "di chat ini",
        "cari_pengetahuan",
        "buat_pesanan",
        "cek_kode_verifikasi",
        "cek_status_pesanan",
        "kirim_ulang_kode",
        "hubungi_petugas",
        "meminta berbicara dengan petugas",
        "di luar pengetahuan Anda",
        "petugas Pegadaian akan menghubungi pelanggan melalui email",
        "folder spam",
    ] {
        assert!(
            prompt.contains(needle),
            "the system prompt lacks {needle:?}"
        );
    }
}

#[test]
fn the_order_tool_is_idempotent_per_session_and_order() {
    let wf = agent_workflow();
    let p = &node(&wf, "buat_pesanan")["parameters"];
    let key = p["headerParameters"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Idempotency-Key")
        .expect("buat_pesanan sends an Idempotency-Key")["value"]
        .as_str()
        .unwrap();
    assert!(
        key.contains("$('Normalisasi pesan').first().json.sessionId"),
        "{key}"
    );
    // Two orders of one chat get different keys: the order's fields are part of the key.
    let keys: Vec<String> = from_ai_calls(key).into_iter().map(|c| c.key).collect();
    for field in [
        "nama_barang",
        "jumlah_barang",
        "estimasi_nilai_barang",
        "wilayah",
        "email",
    ] {
        assert!(
            keys.iter().any(|k| k == field),
            "the key does not use {field}: {key}"
        );
    }
    // The header's pattern (^[!-~]+$, at most 255) is kept by the expression.
    assert!(
        key.contains(".replace(/[^a-z0-9@._-]+/g, '-').slice(0, 255)"),
        "{key}"
    );
    // The conversation id goes into the order as id_percakapan.
    assert!(p["jsonBody"].as_str().unwrap().contains(
        "\"id_percakapan\": {{ JSON.stringify($('Normalisasi pesan').first().json.sessionId) }}"
    ));
}

// ---- the checks catch what they should ---------------------------------------------------

#[test]
fn the_code_check_names_its_order_by_the_reference_from_the_mail() {
    let wf = agent_workflow();
    let p = &node(&wf, "cek_kode_verifikasi")["parameters"];
    let body = p["jsonBody"].as_str().unwrap();
    let fields: Vec<String> = from_ai_calls(body).into_iter().map(|c| c.key).collect();
    assert_eq!(fields, ["kode_unik", "referensi"], "{body}");
    assert!(body.contains("\"referensi\":"), "{body}");
    let description = p["toolDescription"].as_str().unwrap();
    assert!(
        description.contains("nomor referensi pengajuan"),
        "{description}"
    );
    // dashboard-api refuses a code alone by default: the documented body names the reference.
    let doc: Value =
        serde_json::from_str(include_str!("../../../services/dashboard-api/openapi.json")).unwrap();
    let schema = &doc["paths"]["/dashboard/verify"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert!(schema["properties"]["referensi"].is_object());
}

#[test]
fn the_customer_service_tools_name_the_order_by_reference_and_email() {
    let wf = agent_workflow();
    for tool in ["cek_status_pesanan", "kirim_ulang_kode"] {
        let p = &node(&wf, tool)["parameters"];
        let body = p["jsonBody"].as_str().unwrap();
        let fields: Vec<String> = from_ai_calls(body).into_iter().map(|c| c.key).collect();
        assert_eq!(fields, ["referensi", "email"], "{tool}: {body}");
        assert_eq!(p["method"], "POST");
        let description = p["toolDescription"].as_str().unwrap();
        assert!(
            description.contains("nomor referensi pengajuan") && description.contains("email"),
            "{tool}: {description}"
        );
    }
    // The hand-off carries the conversation, so an officer can read it back.
    let p = &node(&wf, "hubungi_petugas")["parameters"];
    let body = p["jsonBody"].as_str().unwrap();
    let fields: Vec<String> = from_ai_calls(body).into_iter().map(|c| c.key).collect();
    assert_eq!(
        fields,
        ["nama_customer", "email", "referensi", "ringkasan"],
        "{body}"
    );
    assert!(
        body.contains(
            "\"id_percakapan\": {{ JSON.stringify($('Normalisasi pesan').first().json.sessionId) }}"
        ),
        "{body}"
    );
    assert!(
        p["toolDescription"]
            .as_str()
            .unwrap()
            .contains("menghubungi lewat email")
    );
}

fn with_tool(wf: &mut Value, name: &str, change: impl FnOnce(&mut Value)) {
    let n = wf["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["name"] == name)
        .unwrap();
    change(&mut n["parameters"]);
}

fn expect_problem(wf: &Value, needle: &str) {
    let problems = all_problems(wf);
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "expected a problem containing {needle:?}, got {problems:#?}"
    );
}

#[test]
fn catches_a_wrong_path_or_method() {
    let mut wf = agent_workflow();
    with_tool(&mut wf, "buat_pesanan", |p| {
        p["url"] = json!("={{ $env.GADAI_INTAKE_URL }}/api/insert-order");
    });
    expect_problem(
        &wf,
        "POST /api/insert-order is no operation of order-intake's OpenAPI document",
    );

    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["method"] = json!("GET")
    });
    expect_problem(
        &wf,
        "GET /dashboard/verify has no such method in dashboard-api's",
    );

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        p["url"] = json!("={{ $env.GADAI_DASHBOARD_URL }}/api/quote");
    });
    expect_problem(&wf, "POST /api/quote is no operation of dashboard-api's");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        p["url"] = json!("http://order-intake:2027/api/quote")
    });
    expect_problem(&wf, "must start with a host expression");
}

#[test]
fn catches_a_missing_api_key() {
    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["headerParameters"]["parameters"]
            .as_array_mut()
            .unwrap()
            .retain(|h| h["name"] != "X-API-Key");
    });
    expect_problem(&wf, "does not send the X-API-Key header");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        p["sendHeaders"] = json!(false)
    });
    expect_problem(&wf, "does not send the X-API-Key header");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        p["headerParameters"]["parameters"][0]["value"] = json!("rahasia");
    });
    expect_problem(&wf, "X-API-Key must be");
}

#[test]
fn catches_bodies_the_schema_refuses() {
    let mut wf = agent_workflow();
    with_tool(&mut wf, "buat_pesanan", |p| {
        let body = p["jsonBody"]
            .as_str()
            .unwrap()
            .replace("\"email\":", "\"e_mail\":");
        p["jsonBody"] = json!(body);
    });
    expect_problem(
        &wf,
        "`body.e_mail` is not a property the request schema accepts",
    );
    expect_problem(&wf, "lacks the required property `email`");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        let body = p["jsonBody"]
            .as_str()
            .unwrap()
            .replace("\"harga_satuan\":", "\"harga\":");
        p["jsonBody"] = json!(body);
    });
    expect_problem(
        &wf,
        "`body.items[0]` lacks the required property `harga_satuan`",
    );

    let mut wf = agent_workflow();
    with_tool(&mut wf, "hitung_pinjaman", |p| {
        let body =
            p["jsonBody"]
                .as_str()
                .unwrap()
                .replacen("\"items\": [", "\"items\": 3, \"x\": [", 1);
        p["jsonBody"] = json!(body);
    });
    expect_problem(&wf, "`body.items` is integer, the schema wants \"array\"");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["jsonBody"] = json!("={ \"kode\": {{ 1 }} }")
    });
    expect_problem(&wf, "lacks the required property `kode_unik`");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["jsonBody"] = json!("={ \"kode_unik\": {{ 1 }}, }")
    });
    expect_problem(&wf, "jsonBody is not JSON");

    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["sendBody"] = json!(false)
    });
    expect_problem(&wf, "sends no body, but the operation requires one");
}

#[test]
fn catches_undeclared_headers() {
    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["headerParameters"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "Idempotency-Key", "value": "x"}));
    });
    expect_problem(
        &wf,
        "sends header \"Idempotency-Key\", which the operation does not declare",
    );
}

#[test]
fn catches_unknown_types_and_broken_connections() {
    let mut wf = agent_workflow();
    wf["nodes"][0]["typeVersion"] = json!(9.9);
    expect_problem(&wf, "unknown node type");

    let mut wf = agent_workflow();
    wf["nodes"][0]["type"] = json!("n8n-nodes-base.noSuchNode");
    expect_problem(&wf, "unknown node type n8n-nodes-base.noSuchNode@");

    let mut wf = agent_workflow();
    wf["connections"]["Asisten Gadai"]["main"][0][0]["node"] = json!("Tidak Ada");
    expect_problem(
        &wf,
        "\"Asisten Gadai\" -> \"Tidak Ada\": the target is no node",
    );

    let mut wf = agent_workflow();
    wf["connections"]["Hantu"] =
        json!({"main": [[{"node": "Asisten Gadai", "type": "main", "index": 0}]]});
    expect_problem(&wf, "connection source \"Hantu\" is no node");

    let mut wf = agent_workflow();
    let link = json!({"node": "Asisten Gadai", "type": "ai_teleport", "index": 0});
    wf["connections"]["Model Ollama"] = json!({"ai_teleport": [[link]]});
    expect_problem(&wf, "unknown connection type \"ai_teleport\"");
}

#[test]
fn catches_inconsistent_from_ai_and_bad_credentials() {
    let mut wf = agent_workflow();
    with_tool(&mut wf, "buat_pesanan", |p| {
        let body = p["jsonBody"]
            .as_str()
            .unwrap()
            .replacen("'Alamat email pelanggan", "'Email", 1);
        p["jsonBody"] = json!(body);
    });
    expect_problem(
        &wf,
        "duplicate $fromAI key \"email\" with a different description or type",
    );

    let mut wf = agent_workflow();
    with_tool(&mut wf, "cek_kode_verifikasi", |p| {
        p["jsonBody"] = json!("={ \"kode_unik\": {{ $fromAI('kode unik', 'x', 'string') }} }");
    });
    expect_problem(&wf, "invalid $fromAI key \"kode unik\"");

    let mut wf = agent_workflow();
    let model = wf["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["name"] == "Model Ollama")
        .unwrap();
    model["credentials"]["ollamaApi"]["id"] = json!("tidakAda");
    expect_problem(&wf, "credential id \"tidakAda\" has no template");

    let mut templates = credential_templates();
    templates.values_mut().next().unwrap().data = json!({"password": "hunter2"});
    assert!(!check_no_secrets(&templates).is_empty());
}

#[test]
fn from_ai_parsing_follows_n8n() {
    let calls = from_ai_calls(
        "{{ $fromAI('a', 'desc, with comma', 'number') }} {{ $fromAI(\"b\") }} {{ $fromAI('c', 'it\\'s') }}",
    );
    assert_eq!(
        calls,
        [
            FromAi {
                key: "a".into(),
                description: Some("desc, with comma".into()),
                kind: "number".into()
            },
            FromAi {
                key: "b".into(),
                description: None,
                kind: "string".into()
            },
            FromAi {
                key: "c".into(),
                description: Some("it's".into()),
                kind: "string".into()
            },
        ]
    );
    assert_eq!(
        placeholders("{\"a\": {{ x }}, \"b\": \"p-{{ y }}\"}"),
        "{\"a\": null, \"b\": \"p-null\"}"
    );
    assert_eq!(
        split_host("={{ $env.GADAI_INTAKE_URL }}/api/quote"),
        Some(("GADAI_INTAKE_URL", "/api/quote"))
    );
    assert!(path_matches(
        "/dashboard/orders/{id}",
        "/dashboard/orders/42"
    ));
    assert!(!path_matches("/dashboard/orders/{id}", "/dashboard/orders"));
}
