//! `GET /dashboard/stats`: the projection's counters, read as they are.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use gadai_http::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::{domain::Status, read_model};

/// How many days of the orders-per-day series are returned.
const DAYS: usize = 30;

#[utoipa::path(
    get,
    path = "/dashboard/stats",
    operation_id = "stats",
    summary = "Counts per status and per region, total estimated value, orders per day",
    responses((status = 200, description = "Counters kept by the projection", body = inline(Stats)))
)]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
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
            "wilayah" => per_wilayah.push(WilayahCount {
                wilayah: key.clone(),
                count: *orders,
                estimasi_nilai: *value,
            }),
            "day" => per_day.push((key.clone(), *orders, *value)),
            "total" => (total, total_value) = (*orders, *value),
            _ => {}
        }
    }
    per_wilayah.sort_by_key(|w| std::cmp::Reverse(w.count));
    per_day.sort();
    let per_day: Vec<DayCount> = per_day
        .iter()
        .rev()
        .take(DAYS)
        .rev()
        .map(|(day, n, v)| DayCount {
            day: day.clone(),
            count: *n,
            estimasi_nilai: *v,
        })
        .collect();
    Ok(Json(Stats {
        total,
        total_estimasi_nilai: total_value,
        per_status,
        per_wilayah,
        per_day,
    }))
}

/// The dashboard's counters.
#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// Active orders
    total: i64,
    /// Their estimated value, in Rupiah
    total_estimasi_nilai: i64,
    /// Orders per status label (every label, zero included).
    #[schema(value_type = BTreeMap<String, i64>)]
    per_status: BTreeMap<&'static str, i64>,
    /// Active orders per region, most first.
    #[schema(inline)]
    per_wilayah: Vec<WilayahCount>,
    /// Orders per day, the last 30 days the counters have, oldest first.
    #[schema(inline)]
    per_day: Vec<DayCount>,
}

#[derive(Serialize, ToSchema)]
pub struct WilayahCount {
    wilayah: String,
    count: i64,
    estimasi_nilai: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DayCount {
    #[schema(format = Date)]
    day: String,
    count: i64,
    estimasi_nilai: i64,
}
