//! `GET /dashboard/orders/export?format=csv|xlsx|pdf&<the list's filters>`: the current filtered
//! view as a download. Every format reads the view in keyset pages of 1,000 rows (one query per
//! page), so 100,000 rows never sit in memory.
//!
//! - CSV is streamed page by page: UTF-8 with a byte-order mark so spreadsheet programs read the
//!   names right; cells that a spreadsheet would run as a formula are quoted with a leading
//!   apostrophe.
//! - XLSX is a real workbook written by `rust_xlsxwriter` in its constant-memory mode (one row in
//!   memory, the sheet's XML in an unnamed temporary file) on a blocking thread that is fed the
//!   pages over a bounded channel. The finished file, also unnamed (unlinked from the start, so it
//!   goes away when closed however the request ends), is then streamed with its length. The
//!   workbook is finished before the response starts, so writing it counts against the request
//!   timeout (about 2 s for 100,000 rows in a debug build).
//! - PDF is a landscape A4 table ([`pdf`]), written the same way: on a blocking thread fed the
//!   same pages, page by page into an unnamed temporary file, then streamed with its length.

use std::{fs::File, io::Seek, pin::pin};

use axum::{
    body::{Body, Bytes},
    extract::{Query, State, rejection::QueryRejection},
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt, future, stream};
use gadai_http::{ApiError, FieldError};
use rust_xlsxwriter::{ColNum, ExcelDateTime, Format, RowNum, Workbook, Worksheet};
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;
use utoipa::{
    IntoParams,
    openapi::{Object, ObjectBuilder, Type},
};

use self::pdf::Heading;
use super::AppState;
use crate::{
    domain::OrderView,
    read_model::{Cell, ExportColumn, ListParams, ListQuery, Order, OrderRow, list},
};

mod pdf;

/// Rows per query.
const PAGE: usize = 1000;

/// The columns of every format (the PDF shows most of them): the API's order fields marked for
/// export, with their width in the workbook.
const COLUMNS: &[ExportColumn] = Order::EXPORT_COLUMNS;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PDF_TYPE: &str = "application/pdf";

/// The list's filters and sort, and the file format (paging is the export's own).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    #[param(schema_with = format_schema)]
    format: Option<String>,
    #[param(schema_with = list::active_status_schema)]
    status: Option<String>,
    /// Exact region.
    wilayah: Option<String>,
    /// Case-insensitive text search in customer name, item and e-mail.
    #[param(max_length = 100)]
    q: Option<String>,
    #[param(schema_with = list::sort_schema)]
    sort: Option<String>,
    /// Default desc, asc for nama_customer.
    #[param(inline, value_type = Option<list::SortDirection>)]
    order: Option<String>,
}

/// `format`: `csv` (the default), `xlsx` or `pdf`.
fn format_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["csv", "xlsx", "pdf"]))
        .default(Some("csv".into()))
        .build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    Csv,
    Xlsx,
    Pdf,
}

impl ExportFormat {
    /// CSV unless asked otherwise.
    fn parse(format: Option<&str>) -> Result<Self, ApiError> {
        match format.unwrap_or("csv") {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            "pdf" => Ok(ExportFormat::Pdf),
            _ => Err(format_error("must be csv, xlsx or pdf")),
        }
    }
}

fn format_error(message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::in_part(
        "query",
        "format",
        message,
        "value_error.format",
    )])
}

#[utoipa::path(
    get,
    path = "/dashboard/orders/export",
    operation_id = "exportOrders",
    summary = "The filtered active orders as a CSV (streamed), XLSX or PDF download",
    description = "Every active order of the filtered, sorted view, read in keyset pages of 1,000. csv is streamed as it is read. xlsx is a workbook with one sheet, Orders: a bold, frozen header row with an autofilter, jumlah_barang and estimasi_nilai_barang as numbers (the latter in a Rupiah format), created_at as a date-time in Jakarta time (WIB, UTC+7); it is built before the first byte is sent and has a Content-Length. pdf is a landscape A4 table of every column but id_percakapan: id, created_at (WIB), nama_customer, email, nama_barang, jenis_barang, jumlah_barang, estimasi_nilai_barang (as Rp 12.500.000), wilayah, status, in Helvetica (characters outside Windows-1252 show as ?, a cell too long for its column is cut with …); every page is headed by the title Daftar pengajuan gadai, the time of the export (WIB), the filters in effect (semua when none) and Halaman X dari Y; like xlsx it is built before the first byte is sent and has a Content-Length. The file is named gadai-orders-YYYYMMDD-HHMM.csv, .xlsx or .pdf (UTC).",
    params(ExportParams),
    responses(
        (status = 200, description = "format=csv: UTF-8 CSV with a byte-order mark; formula-like cells are prefixed with an apostrophe. format=xlsx: an Office Open XML workbook (text cells are never formulas). format=pdf: a PDF document, landscape A4.", content(
            (String = "text/csv"),
            (inline(super::openapi::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (inline(super::openapi::Binary) = "application/pdf"),
        ), headers(
            ("Content-Disposition" = String, description = "attachment; filename=\"gadai-orders-YYYYMMDD-HHMM.csv\" (or .xlsx, .pdf)"),
            ("Content-Length" = i64, description = "Sent with xlsx and pdf (csv is streamed)."),
        )),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 422, description = "Invalid format or filter, or more rows than one xlsx sheet holds (1,048,575)", body = super::openapi::ValidationError),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let format = ExportFormat::parse(params.format.as_deref())?;
    let query = ListQuery::parse(ListParams {
        limit: None,
        cursor: None,
        status: params.status,
        wilayah: params.wilayah,
        q: params.q,
        sort: params.sort,
        order: params.order,
    })?;
    let heading = Heading::new(&query.criteria(), Utc::now());
    let pages = pages(state.pool.clone(), query);
    match format {
        ExportFormat::Csv => Ok(csv_response(pages)),
        ExportFormat::Xlsx => file_response(pages, XLSX_TYPE, "xlsx", write_workbook).await,
        ExportFormat::Pdf => {
            file_response(pages, PDF_TYPE, "pdf", |rx| pdf::write(rx, heading)).await
        }
    }
}

/// The filtered view in keyset pages of [`PAGE`] rows, read lazily: each page is one query, and
/// no transaction stays open between them.
fn pages(
    pool: PgPool,
    query: ListQuery,
) -> impl Stream<Item = Result<Vec<OrderView>, sqlx::Error>> + Send + 'static {
    let first = query.with_page_size(PAGE as i64);
    stream::try_unfold(Some(first), move |next| {
        let pool = pool.clone();
        async move {
            let Some(query) = next else { return Ok(None) };
            let rows: Vec<OrderRow> = query.sql().build_query_as().fetch_all(&pool).await?;
            let more = rows.len() > PAGE;
            let page: Vec<OrderView> = rows.into_iter().take(PAGE).map(OrderView::from).collect();
            let following = match (more, page.last()) {
                (true, Some(last)) => Some(query.after(last)),
                _ => None,
            };
            Ok(Some((page, following)))
        }
    })
}

/// A download named `gadai-orders-YYYYMMDD-HHMM.<extension>` (UTC).
fn attachment(content_type: &str, extension: &str, length: Option<u64>, body: Body) -> Response {
    let filename = format!(
        "gadai-orders-{}.{extension}",
        Utc::now().format("%Y%m%d-%H%M")
    );
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
    }
    response
}

// ---- CSV ----

fn csv_response(
    pages: impl Stream<Item = Result<Vec<OrderView>, sqlx::Error>> + Send + 'static,
) -> Response {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let header = Bytes::from(format!("\u{feff}{}\r\n", names.join(",")));
    let body = stream::once(future::ready(Ok(header))).chain(pages.map_ok(|page| csv_page(&page)));
    attachment(
        "text/csv; charset=utf-8",
        "csv",
        None,
        Body::from_stream(body),
    )
}

fn csv_page(page: &[OrderView]) -> Bytes {
    let mut chunk = String::with_capacity(page.len() * 160);
    for view in page {
        csv_row(&mut chunk, view);
    }
    Bytes::from(chunk)
}

fn csv_row(out: &mut String, view: &OrderView) {
    let order = Order::from(view);
    for (i, cell) in order.export_cells().into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = match cell {
            Cell::Empty => String::new(),
            Cell::Text(text) => text.into_owned(),
            Cell::Number(n) => n.to_string(),
            Cell::Time(at) => at.to_rfc3339(),
        };
        out.push_str(&csv_cell(&text));
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

// ---- Files: XLSX and PDF ----

/// What a file's writer is sent: a page of rows, then the end of the view. A channel that
/// closes without `Done` means the export was abandoned (the client left, or a query failed).
enum Feed {
    Rows(Vec<OrderView>),
    Done,
}

/// Pages in flight between the queries and the writer.
const FEED_PAGES: usize = 2;

/// The file `write` makes of the pages, streamed with its length.
async fn file_response(
    pages: impl Stream<Item = Result<Vec<OrderView>, sqlx::Error>> + Send + 'static,
    content_type: &str,
    extension: &str,
    write: impl FnOnce(mpsc::Receiver<Feed>) -> Result<File, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let file = written_file(pages, write).await?;
    let length = file.metadata().map_err(anyhow::Error::from)?.len();
    let body = ReaderStream::with_capacity(tokio::fs::File::from_std(file), 64 * 1024);
    Ok(attachment(
        content_type,
        extension,
        Some(length),
        Body::from_stream(body),
    ))
}

/// The file, written by `write` on a blocking thread while the pages are read; it is
/// positioned at its start.
async fn written_file(
    pages: impl Stream<Item = Result<Vec<OrderView>, sqlx::Error>> + Send + 'static,
    write: impl FnOnce(mpsc::Receiver<Feed>) -> Result<File, ApiError> + Send + 'static,
) -> Result<File, ApiError> {
    let (tx, rx) = mpsc::channel(FEED_PAGES);
    let writer = tokio::task::spawn_blocking(move || write(rx));
    let fed = feed(pages, tx).await;
    let written = writer.await.map_err(anyhow::Error::from)?;
    // A failed query ends the writer too (no `Done`): the query's error is the one to report.
    fed?;
    written
}

/// Sends every page, then `Done`; stops early when the writer has given up.
async fn feed(
    pages: impl Stream<Item = Result<Vec<OrderView>, sqlx::Error>>,
    tx: mpsc::Sender<Feed>,
) -> Result<(), ApiError> {
    let mut pages = pin!(pages);
    while let Some(page) = pages.try_next().await.map_err(anyhow::Error::from)? {
        if tx.send(Feed::Rows(page)).await.is_err() {
            return Ok(());
        }
    }
    let _ = tx.send(Feed::Done).await;
    Ok(())
}

/// Calls `write` with every row sent, until `Done` (on the writer's thread); a feed that ends
/// without `Done` is an error.
fn for_each_row(
    mut rx: mpsc::Receiver<Feed>,
    mut write: impl FnMut(&OrderView) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    loop {
        match rx.blocking_recv() {
            Some(Feed::Rows(page)) => page.iter().try_for_each(&mut write)?,
            Some(Feed::Done) => return Ok(()),
            None => return Err(anyhow::anyhow!("the export was abandoned").into()),
        }
    }
}

/// Writes the rows it is sent, a row at a time, and saves the workbook to an unnamed temporary
/// file.
fn write_workbook(rx: mpsc::Receiver<Feed>) -> Result<File, ApiError> {
    let mut sheet = OrdersSheet::new()?;
    for_each_row(rx, |view| {
        if sheet.is_full() {
            return Err(format_error(
                "too many rows for one xlsx sheet (at most 1048575): narrow the filter or use csv",
            ));
        }
        Ok(sheet.append(view)?)
    })?;
    Ok(sheet.save()?)
}

/// Excel's last row number (the header is row 0).
const LAST_EXCEL_ROW: RowNum = 1_048_575;

/// Jakarta time (WIB) is UTC+7 all year.
const WIB_SECONDS: i64 = gadai_mail_template::WIB_SECONDS as i64;

/// The export's one worksheet, "Orders": a bold header row that stays in view (frozen pane) and
/// carries an autofilter, then one row per order. Text is written as text (never a formula),
/// `jumlah_barang` and `estimasi_nilai_barang` as numbers (the latter as Rupiah), `created_at`
/// as an Excel date-time in Jakarta time (WIB, UTC+7; Excel has no time zones), to the second.
struct OrdersSheet {
    workbook: Workbook,
    sheet: Worksheet,
    next_row: RowNum,
    rupiah: Format,
    date_time: Format,
}

impl OrdersSheet {
    fn new() -> anyhow::Result<Self> {
        let mut workbook = Workbook::new();
        let mut sheet = workbook.new_worksheet_with_constant_memory()?;
        sheet.set_name("Orders")?;
        let bold = Format::new().set_bold();
        for (col, column) in (0..).zip(COLUMNS) {
            sheet.set_column_width(col, column.width)?;
            sheet.write_string_with_format(0, col, column.name, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(OrdersSheet {
            workbook,
            sheet,
            next_row: 1,
            rupiah: Format::new().set_num_format("\"Rp\" #,##0"),
            date_time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        })
    }

    fn is_full(&self) -> bool {
        self.next_row > LAST_EXCEL_ROW
    }

    fn append(&mut self, view: &OrderView) -> anyhow::Result<()> {
        let row = self.next_row;
        let sheet = &mut self.sheet;
        let order = Order::from(view);
        for ((col, column), cell) in (0..).zip(COLUMNS).zip(order.export_cells()) {
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => {
                    sheet.write_string(row, col, text)?;
                }
                Cell::Number(n) if column.rupiah => {
                    sheet.write_number_with_format(row, col, n as f64, &self.rupiah)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(row, col, n as f64)?;
                }
                Cell::Time(at) => {
                    sheet.write_datetime_with_format(row, col, jakarta(at)?, &self.date_time)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Adds the autofilter over every written row and saves the workbook; the file is unnamed
    /// and positioned at its start.
    fn save(mut self) -> anyhow::Result<File> {
        let last_col = COLUMNS.len() as ColNum - 1;
        self.sheet.autofilter(0, 0, self.next_row - 1, last_col)?;
        self.workbook.push_worksheet(self.sheet);
        let mut file = tempfile::tempfile()?;
        self.workbook.save_to_writer(&mut file)?;
        file.rewind()?;
        Ok(file)
    }
}

/// `at` as Jakarta wall-clock time, to the second.
fn jakarta(at: DateTime<Utc>) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    ExcelDateTime::from_timestamp(at.timestamp() + WIB_SECONDS)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek};

    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{OrderFacts, Status};

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Budi"), "Budi");
        assert_eq!(csv_cell("Jl. Merdeka, 5"), "\"Jl. Merdeka, 5\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-5"), "'-5");
    }

    #[test]
    fn only_csv_xlsx_and_pdf_are_formats() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Csv);
        assert_eq!(
            ExportFormat::parse(Some("xlsx")).unwrap(),
            ExportFormat::Xlsx
        );
        assert_eq!(ExportFormat::parse(Some("pdf")).unwrap(), ExportFormat::Pdf);
        assert!(matches!(
            ExportFormat::parse(Some("docx")),
            Err(ApiError::Validation(_))
        ));
    }

    fn order(name: &str, at: DateTime<Utc>) -> OrderView {
        let mut view = OrderView::empty(Uuid::now_v7());
        view.status = Status::Verified;
        view.facts = Some(OrderFacts {
            personal: Some(crate::domain::OrderPersonal {
                nama_customer: name.into(),
                email: "budi@example.com".into(),
                nama_barang: "Laptop ASUS".into(),
                id_percakapan: Some("chat-1".into()),
            }),
            customer: Default::default(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 2,
            estimasi_nilai_barang: 7_500_000,
            wilayah: "Bandung".into(),
            created_at: at,
        });
        view
    }

    fn read_back(mut file: File) -> calamine::Range<Data> {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        book.worksheet_range("Orders").unwrap()
    }

    #[test]
    fn the_workbook_has_typed_cells_in_jakarta_time() {
        // 23:30 UTC is 06:30 the next day in Jakarta.
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 15).unwrap();
        let first = order("=1+1", at);
        let second = order("Citra", at);
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Feed::Rows(vec![first.clone()])).unwrap();
        tx.try_send(Feed::Rows(vec![second.clone()])).unwrap();
        tx.try_send(Feed::Done).unwrap();
        let range = read_back(write_workbook(rx).unwrap());

        assert_eq!(range.get_size(), (3, COLUMNS.len()));
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(header, names);
        let row = &range.rows().nth(1).unwrap();
        assert_eq!(row[0], Data::String(first.id.to_string()));
        assert_eq!(row[1], Data::String("Verified".into()));
        assert_eq!(row[2], Data::String("=1+1".into()), "text stays text");
        assert_eq!(row[6], Data::Float(2.0));
        assert_eq!(row[7], Data::Float(7_500_000.0));
        assert_eq!(row[9], Data::String("chat-1".into()));
        let Data::DateTime(when) = &row[10] else {
            panic!("created_at is a date-time cell: {:?}", row[10]);
        };
        assert_eq!(
            when.as_datetime().unwrap().to_string(),
            "2026-04-01 06:30:15"
        );
        assert_eq!(
            range.rows().nth(2).unwrap()[2],
            Data::String("Citra".into())
        );
    }

    fn part(file: &mut File, name: &str) -> String {
        file.rewind().unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn the_header_is_bold_frozen_and_filtered() {
        let (tx, rx) = mpsc::channel(2);
        tx.try_send(Feed::Rows(vec![order("Budi", Utc::now())]))
            .unwrap();
        tx.try_send(Feed::Done).unwrap();
        let mut file = write_workbook(rx).unwrap();
        let sheet = part(&mut file, "xl/worksheets/sheet1.xml");
        let styles = part(&mut file, "xl/styles.xml");

        assert!(
            sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#),
            "{sheet}"
        );
        assert!(sheet.contains(r#"<autoFilter ref="A1:K2"/>"#), "{sheet}");
        assert!(
            sheet.contains(r#"<col min="1" max="1" width="38.7109375" customWidth="1"/>"#)
                && sheet.contains(r#"max="11""#),
            "every column has a width: {sheet}"
        );
        let header =
            &sheet[sheet.find(r#"<row r="1""#).unwrap()..sheet.find(r#"<row r="2""#).unwrap()];
        assert_eq!(
            header.matches(" s=\"").count(),
            COLUMNS.len(),
            "a styled header: {header}"
        );
        assert!(styles.contains("<b/>"), "a bold font: {styles}");
        assert!(
            styles.contains(r#"formatCode="&quot;Rp&quot; #,##0""#),
            "{styles}"
        );
        assert!(
            styles.contains(r#"formatCode="yyyy-mm-dd hh:mm:ss""#),
            "{styles}"
        );
    }

    #[test]
    fn an_abandoned_export_writes_no_workbook() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Feed::Rows(vec![order("Budi", Utc::now())]))
            .unwrap();
        drop(tx);
        assert!(write_workbook(rx).is_err());
    }

    #[test]
    fn an_empty_view_is_a_header_only_workbook() {
        let (tx, rx) = mpsc::channel(1);
        tx.try_send(Feed::Done).unwrap();
        let range = read_back(write_workbook(rx).unwrap());
        assert_eq!(range.get_size(), (1, COLUMNS.len()));
    }
}
