//! `GET /dashboard/orders/export?format=csv&<the list's filters>`: the current filtered view as
//! a CSV download, streamed page by page (keyset pages of 1,000), so 100,000 rows never sit in
//! memory. UTF-8 with a byte-order mark so spreadsheet programs read the names right; cells that
//! a spreadsheet would run as a formula are quoted with a leading apostrophe.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State, rejection::QueryRejection},
    http::header,
    response::{IntoResponse, Response},
};
use futures::stream;
use gadai_kit::{ApiError, FieldError};
use serde::Deserialize;

use super::{
    AppState,
    orders::{ListParams, ListQuery},
};
use crate::{domain::OrderView, read_model::OrderRow};

const PAGE: i64 = 1000;
const HEADER: &str = "id,status,nama_customer,email,nama_barang,jenis_barang,jumlah_barang,estimasi_nilai_barang,wilayah,id_percakapan,created_at\r\n";

/// The list's filters and sort, and the file format (paging is the export's own).
#[derive(Deserialize)]
pub struct ExportParams {
    format: Option<String>,
    status: Option<String>,
    wilayah: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
}

pub async fn export(
    State(state): State<AppState>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    match params.format.as_deref().unwrap_or("csv") {
        "csv" => {}
        _ => {
            return Err(ApiError::Validation(vec![FieldError::in_part(
                "query",
                "format",
                "must be csv",
                "value_error.format",
            )]));
        }
    }
    let query = ListQuery::parse(ListParams {
        limit: None,
        cursor: None,
        status: params.status,
        wilayah: params.wilayah,
        q: params.q,
        sort: params.sort,
        order: params.order,
    })?
    .with_page_size(PAGE);
    let first = Bytes::from(format!("\u{feff}{HEADER}"));
    let pages = stream::try_unfold(Some(query), move |next| {
        let pool = state.pool.clone();
        async move {
            let Some(query) = next else { return Ok(None) };
            let rows: Vec<OrderRow> = query.sql().build_query_as().fetch_all(&pool).await?;
            let more = rows.len() as i64 > PAGE;
            let views: Vec<OrderView> = rows
                .into_iter()
                .take(PAGE as usize)
                .map(OrderView::from)
                .collect();
            let mut chunk = String::with_capacity(views.len() * 160);
            for view in &views {
                csv_row(&mut chunk, view);
            }
            let following = match (more, views.last()) {
                (true, Some(last)) => Some(query.after(last)),
                _ => None,
            };
            Ok::<_, sqlx::Error>(Some((Bytes::from(chunk), following)))
        }
    });
    let body = stream::once(async move { Ok::<_, sqlx::Error>(first) }).chain_pages(pages);
    let filename = format!(
        "gadai-orders-{}.csv",
        chrono::Utc::now().format("%Y%m%d-%H%M")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Appends the pages after the header line.
trait ChainPages<S> {
    fn chain_pages(self, pages: S) -> futures::stream::Chain<Self, S>
    where
        Self: Sized;
}

impl<A, S> ChainPages<S> for A
where
    A: futures::Stream,
    S: futures::Stream<Item = A::Item>,
{
    fn chain_pages(self, pages: S) -> futures::stream::Chain<Self, S> {
        futures::StreamExt::chain(self, pages)
    }
}

fn csv_row(out: &mut String, view: &OrderView) {
    let f = view.facts.as_ref();
    let cells = [
        view.id.to_string(),
        view.status.label().to_owned(),
        f.map(|f| f.nama_customer.clone()).unwrap_or_default(),
        f.map(|f| f.email.clone()).unwrap_or_default(),
        f.map(|f| f.nama_barang.clone()).unwrap_or_default(),
        f.map(|f| f.jenis_barang.clone()).unwrap_or_default(),
        f.map(|f| f.jumlah_barang.to_string()).unwrap_or_default(),
        f.map(|f| f.estimasi_nilai_barang.to_string())
            .unwrap_or_default(),
        f.map(|f| f.wilayah.clone()).unwrap_or_default(),
        f.and_then(|f| f.id_percakapan.clone()).unwrap_or_default(),
        f.map(|f| f.created_at.to_rfc3339()).unwrap_or_default(),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(cell));
    }
    out.push_str("\r\n");
}

/// Quotes a cell when needed; defuses cells a spreadsheet would evaluate as a formula.
pub fn csv_cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Budi"), "Budi");
        assert_eq!(csv_cell("Jl. Merdeka, 5"), "\"Jl. Merdeka, 5\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-5"), "'-5");
    }
}
