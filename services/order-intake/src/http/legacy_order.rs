//! `POST /order`: the old n8n workflow's request, kept so an existing workflow works by changing
//! only its host. Its body was `{"dataOrder": "<a JSON string of {\"dataOrder\": [orders]}>"}`;
//! the orders go through the same validation and idempotency as `/api/insert-orders`, and the
//! answer is the old list of `{id, status}`.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::HeaderMap,
};
use gadai_kit::{ApiError, FieldError};
use serde_json::{Value, json};

use super::{AppState, insert_orders};

pub async fn post_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    let orders = unwrap_data_order(body)?;
    let accepted = insert_orders::accept(&state, &headers, orders).await?;
    let list: Vec<Value> = accepted
        .ids
        .iter()
        .map(|id| json!({ "id": id, "status": insert_orders::ON_PROCESS }))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `{"dataOrder": "{\"dataOrder\": [...]}"}` -> `[...]`. The string may also already be decoded
/// (an object or the list itself), which some n8n expressions produce.
fn unwrap_data_order(body: Value) -> Result<Value, ApiError> {
    let invalid = |msg: &str| {
        ApiError::Validation(vec![FieldError::at(
            &["dataOrder".into()],
            msg,
            "value_error.data_order",
        )])
    };
    let mut outer = match body {
        Value::Object(mut o) => o
            .remove("dataOrder")
            .ok_or_else(|| invalid("field required"))?,
        _ => return Err(invalid("expected {\"dataOrder\": ...}")),
    };
    if let Value::String(text) = &outer {
        outer =
            serde_json::from_str(text).map_err(|e| invalid(&format!("not a JSON string: {e}")))?;
    }
    match outer {
        Value::Object(mut inner) => match inner.remove("dataOrder") {
            Some(orders @ (Value::Array(_) | Value::Object(_))) => Ok(orders),
            _ => Err(invalid(
                "expected {\"dataOrder\": [orders]} inside the string",
            )),
        },
        orders @ Value::Array(_) => Ok(orders),
        _ => Err(invalid("expected {\"dataOrder\": [orders]}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_double_encoded_body_is_unwrapped() {
        let inner = json!({"dataOrder": [{"nama_customer": "Budi"}]}).to_string();
        let orders = unwrap_data_order(json!({ "dataOrder": inner })).unwrap();
        assert_eq!(orders, json!([{"nama_customer": "Budi"}]));
        let decoded = unwrap_data_order(json!({"dataOrder": {"dataOrder": [{"a": 1}]}})).unwrap();
        assert_eq!(decoded, json!([{"a": 1}]));
        assert!(unwrap_data_order(json!({"dataOrder": "{not json"})).is_err());
        assert!(unwrap_data_order(json!({"orders": []})).is_err());
        assert!(unwrap_data_order(json!([1])).is_err());
    }
}
