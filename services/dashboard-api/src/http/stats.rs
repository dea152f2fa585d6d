//! `GET /dashboard/stats`: the projection's counters, read as they are.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use gadai_kit::ApiError;
use serde_json::{Value, json};

use super::AppState;
use crate::{domain::Status, read_model};

/// How many days of the orders-per-day series are returned.
const DAYS: usize = 30;

pub async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rows = read_model::counters(&state.pool)
        .await
        .map_err(anyhow::Error::from)?;
    let mut per_status: BTreeMap<&str, i64> = Status::ALL.iter().map(|s| (s.label(), 0)).collect();
    let mut per_wilayah = Vec::new();
    let mut per_day = Vec::new();
    let (mut total, mut total_value) = (0, 0);
    for (dim, key, orders, value) in &rows {
        match dim.as_str() {
            "status" => {
                if let Some(s) = Status::from_label(key) {
                    per_status.insert(s.label(), *orders);
                }
            }
            "wilayah" => {
                per_wilayah.push(json!({"wilayah": key, "count": orders, "estimasi_nilai": value}))
            }
            "day" => per_day.push((key.clone(), *orders, *value)),
            "total" => (total, total_value) = (*orders, *value),
            _ => {}
        }
    }
    per_wilayah.sort_by(|a, b| b["count"].as_i64().cmp(&a["count"].as_i64()));
    per_day.sort();
    let per_day: Vec<Value> = per_day
        .iter()
        .rev()
        .take(DAYS)
        .rev()
        .map(|(day, n, v)| json!({"day": day, "count": n, "estimasi_nilai": v}))
        .collect();
    Ok(Json(json!({
        "total": total,
        "total_estimasi_nilai": total_value,
        "per_status": per_status,
        "per_wilayah": per_wilayah,
        "per_day": per_day,
    })))
}
