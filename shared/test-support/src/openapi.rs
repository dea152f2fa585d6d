//! Checking that a service's OpenAPI document and its router agree, both ways.

use std::path::Path;

use serde_json::Value;

/// Checks that a service's committed OpenAPI document (`committed`, read from `path` when the
/// crate was built) is the one its code generates. With `UPDATE_OPENAPI=1` it writes the
/// generated document to `path` instead (then rebuild: the served document is compiled in).
pub fn check_generated(path: &Path, committed: &str, generated: &str) {
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    assert!(
        committed == generated,
        "{} is not the document the code generates; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test -p <service> --test api openapi` and review the diff",
        path.display()
    );
}

/// The `(METHOD, path)` pairs a document declares.
pub fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out.sort();
    out
}

/// The `(METHOD, path)` pairs a router source declares with `.route("path", method(...))`,
/// plus the shared ops routes. Routes written before a `.nest("/prefix", ...)` call belong to
/// the nested router and get its prefix (the layout of our `http/mod.rs` files).
pub fn routed(source: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ["/healthz", "/readyz", "/metrics"]
        .iter()
        .map(|p| ("GET".to_owned(), (*p).to_owned()))
        .collect();
    let (nested, outer, prefix) = match source.split_once(".nest(\"") {
        Some((before, after)) => (before, after, after.split('"').next().unwrap_or("")),
        None => ("", source, ""),
    };
    for (part, pre) in [(nested, prefix), (outer, "")] {
        for chunk in part.split(".route(").skip(1) {
            let Some(literal) = chunk.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some((path, rest)) = literal.split_once('"') else {
                continue;
            };
            for method in route_methods(rest) {
                out.push((method.to_uppercase(), format!("{pre}{path}")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The HTTP methods of one `.route(path, ...)` call: `get(h)`, `get(h).post(h2)`,
/// `post(h).layer(...)`: the method names at the call's own nesting level.
fn route_methods(args: &str) -> Vec<String> {
    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    for c in args.chars() {
        match c {
            '(' => {
                if depth == 0 && METHODS.contains(&word.as_str()) {
                    found.push(word.clone());
                }
                depth += 1;
                word.clear();
            }
            ')' if depth == 0 => break,
            ')' => {
                depth -= 1;
                word.clear();
            }
            c if c.is_ascii_alphanumeric() || c == '_' => word.push(c),
            _ => word.clear(),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_routes_take_the_prefix() {
        let src = r#"
            let api = Router::new()
                .route("/orders", get(list))
                .route("/order/{id}", delete(remove));
            Router::new().nest("/dashboard", api).route("/openapi.json", get(doc))
                .route("/items", get(list).post(create))
                .route(
                    "/verify",
                    post(check).layer(middleware::from_fn_with_state(key, guard)),
                )
        "#;
        assert_eq!(
            routed(src),
            [
                ("DELETE".to_owned(), "/dashboard/order/{id}".to_owned()),
                ("GET".to_owned(), "/dashboard/orders".to_owned()),
                ("GET".to_owned(), "/healthz".to_owned()),
                ("GET".to_owned(), "/items".to_owned()),
                ("GET".to_owned(), "/metrics".to_owned()),
                ("GET".to_owned(), "/openapi.json".to_owned()),
                ("GET".to_owned(), "/readyz".to_owned()),
                ("POST".to_owned(), "/items".to_owned()),
                ("POST".to_owned(), "/verify".to_owned()),
            ]
        );
    }
}
