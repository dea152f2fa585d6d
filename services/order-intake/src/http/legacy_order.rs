//! `POST /order`: the old n8n workflow's request, kept so an existing workflow works by changing
//! only its host. Its body was `{"dataOrder": "<a JSON string of {\"dataOrder\": [orders]}>"}`;
//! the orders go through the same validation and idempotency as `/api/insert-orders`, and the
//! answer is the old list of `{id, status}`.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::HeaderMap,
};
use gadai_http::{ApiError, FieldError};
use serde_json::Value;

use super::{
    AppState,
    insert_orders::{self, OrderStatus},
    openapi,
};

#[utoipa::path(
    post,
    path = "/order",
    operation_id = "legacyOrder",
    summary = "The old workflow's order request (compatibility)",
    description = r#"Body {"dataOrder": "<JSON string of {\"dataOrder\": [orders]}>"}: the same validation, idempotency and events as /api/insert-orders; answers the old list of {id, status}."#,
    params(openapi::IdempotencyKey),
    request_body(content = inline(openapi::LegacyOrderRequest)),
    responses(
        (status = 200, description = "Stored on the stream", body = inline(Vec<OrderStatus>)),
        (status = 401, description = "Missing or wrong X-API-Key", body = openapi::Error),
        (status = 413, description = "Body too large", body = openapi::Error),
        (status = 422, description = "Validation failed; nothing was published", body = openapi::ValidationError),
        (status = 503, description = "Retry with the same body or Idempotency-Key", body = openapi::Error),
    )
)]
pub async fn post_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Vec<OrderStatus>>, ApiError> {
    let Json(body) = body?;
    let orders = unwrap_data_order(body)?;
    let accepted = insert_orders::accept(&state, &headers, orders).await?;
    Ok(Json(
        accepted.ids.into_iter().map(OrderStatus::new).collect(),
    ))
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
    use serde_json::json;

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
