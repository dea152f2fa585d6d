//! The filtered orders as a PDF: a landscape A4 table, "Daftar pengajuan gadai", written page by
//! page with `pdf-writer` into an unnamed temporary file ([`file::PdfFile`]). Only the page being
//! filled is in memory (its content stream, about 20 KB); a finished page is compressed, written
//! and forgotten but for its object number.
//!
//! Every page carries the heading: the title, the time of the export (Jakarta time, WIB), the
//! filters in effect, "Halaman X dari Y", and the table's column names. The total Y is not
//! known while the pages are written: counting the rows first would take one more query, and
//! the count could differ from the rows the page queries then read (orders arrive and change
//! meanwhile; the pages are separate queries, not one snapshot). So each page draws the total as
//! a shared form XObject, which is written once after the last page: the number is then exact,
//! with no second pass over the file.
//!
//! The text is Helvetica (a standard font, not embedded) in WinAnsiEncoding ([`text`]): what
//! that encoding lacks shows as "?", and a cell too long for its column is cut with "…".

mod file;
mod text;

use std::{
    fs::File,
    io::{self, Write},
};

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use flate2::{Compression, write::ZlibEncoder};
use gadai_http::ApiError;
use pdf_writer::{
    Content, Date, Filter, Name, Rect, Ref, Str, TextStr,
    writers::{Catalog, DocumentInfo, Resources},
};
use tokio::sync::mpsc;

use self::{
    file::PdfFile,
    text::{Font, encode},
};
use super::{COLUMNS, Feed, WIB_SECONDS, for_each_row};
use crate::{
    domain::OrderView,
    read_model::{Cell, Order, list::Criteria},
};

const TITLE: &str = "Daftar pengajuan gadai";

/// Writes the rows it is sent, a page at a time, into an unnamed temporary file.
pub fn write(rx: mpsc::Receiver<Feed>, heading: Heading) -> Result<File, ApiError> {
    let mut pdf = OrdersPdf::new(heading)?;
    for_each_row(rx, |view| Ok(pdf.append(view)?))?;
    Ok(pdf.save()?)
}

// The page, in points: A4 landscape.
const PAGE_WIDTH: f32 = 841.89;
const PAGE_HEIGHT: f32 = 595.28;
const MARGIN: f32 = 20.0;
const TABLE_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

// The heading: the title line, then the filters and page number.
const TITLE_SIZE: f32 = 14.0;
const INFO_SIZE: f32 = 8.0;
const TITLE_Y: f32 = PAGE_HEIGHT - MARGIN - TITLE_SIZE;
const INFO_Y: f32 = TITLE_Y - 16.0;
/// Where "Halaman X dari Y" starts: room for four-digit numbers before the right margin.
const PAGE_NUMBER_X: f32 = PAGE_WIDTH - MARGIN - 92.0;

// The table: a shaded row of column names, then the orders in rows of 7-point text.
const CELL_SIZE: f32 = 7.0;
const PADDING: f32 = 3.0;
const TABLE_TOP: f32 = INFO_Y - 10.0;
const HEADER_HEIGHT: f32 = 14.0;
const ROW_HEIGHT: f32 = 10.5;
const ROWS_TOP: f32 = TABLE_TOP - HEADER_HEIGHT;
/// The gap between a row's top and its text's baseline.
const BASELINE_DROP: f32 = 7.5;
const ROWS_PER_PAGE: usize = ((ROWS_TOP - MARGIN) / ROW_HEIGHT) as usize;
const _: () = assert!(ROWS_PER_PAGE >= 40, "a page holds a useful number of rows");

// The names of the resources every page uses.
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const TOTAL: Name = Name(b"Total");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A column of the table: the export column it shows (by name), its heading and width.
struct Column {
    field: &'static str,
    label: &'static str,
    width: f32,
    align: Align,
}

/// The export's columns but `id_percakapan` (a chat's id means nothing on paper, and the ten
/// others fill a landscape A4 row at 7 points), in reading order. The id column fits a whole
/// UUID; times are Jakarta time.
const TABLE: [Column; 10] = [
    column("id", "ID", 142.0, Align::Left),
    column("created_at", "Dibuat (WIB)", 62.0, Align::Left),
    column("nama_customer", "Nama customer", 100.0, Align::Left),
    column("email", "E-mail", 118.0, Align::Left),
    column("nama_barang", "Barang", 100.0, Align::Left),
    column("jenis_barang", "Jenis", 56.0, Align::Left),
    column("jumlah_barang", "Jumlah", 34.0, Align::Right),
    column(
        "estimasi_nilai_barang",
        "Estimasi nilai",
        66.0,
        Align::Right,
    ),
    column("wilayah", "Wilayah", 62.0, Align::Left),
    column("status", "Status", 58.0, Align::Left),
];

const fn column(field: &'static str, label: &'static str, width: f32, align: Align) -> Column {
    Column {
        field,
        label,
        width,
        align,
    }
}

/// What every page's heading says besides the title and the page number, in WinAnsi.
pub struct Heading {
    filters: Vec<u8>,
    exported: Vec<u8>,
    at: DateTime<Utc>,
}

impl Heading {
    /// The heading of an export of `criteria` made `at`.
    pub fn new(criteria: &Criteria, at: DateTime<Utc>) -> Self {
        Heading {
            filters: encode(&describe(criteria)),
            exported: encode(&format!("Diekspor {} WIB", wib(at))),
            at,
        }
    }
}

/// "Filter — status: semua · wilayah: Bandung · q: semua · urutan: created_at desc".
fn describe(criteria: &Criteria) -> String {
    let all = |value: Option<&str>| value.unwrap_or("semua").to_owned();
    let q = criteria.q.map_or_else(|| all(None), |q| format!("\"{q}\""));
    let direction = if criteria.descending { "desc" } else { "asc" };
    format!(
        "Filter \u{2014} status: {} \u{b7} wilayah: {} \u{b7} q: {q} \u{b7} urutan: {} {direction}",
        all(criteria.status),
        all(criteria.wilayah),
        criteria.sort,
    )
}

/// `at` in Jakarta time (WIB, UTC+7), to the minute.
fn wib(at: DateTime<Utc>) -> String {
    (at + TimeDelta::seconds(WIB_SECONDS))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `value` in Rupiah: "Rp 12.500.000" (dots between thousands, no decimals).
fn rupiah(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::from(if value < 0 { "-Rp " } else { "Rp " });
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(digit);
    }
    out
}

/// A cell as the table shows it.
fn cell_text(cell: &Cell, rupiah_column: bool) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(text) => text.to_string(),
        Cell::Number(n) if rupiah_column => rupiah(*n),
        Cell::Number(n) => n.to_string(),
        Cell::Time(at) => wib(*at),
    }
}

/// The object numbers written at the start or the end.
struct Ids {
    catalog: Ref,
    tree: Ref,
    regular: Ref,
    bold: Ref,
    total: Ref,
    info: Ref,
}

/// The page being filled.
struct Page {
    content: Content,
    rows: usize,
}

impl Page {
    fn is_full(&self) -> bool {
        self.rows == ROWS_PER_PAGE
    }
}

/// The document being written: rows go in with [`OrdersPdf::append`], the file comes out of
/// [`OrdersPdf::save`].
struct OrdersPdf {
    file: PdfFile,
    heading: Heading,
    ids: Ids,
    /// Where each of [`TABLE`]'s cells is in [`Order::export_cells`].
    cells: [usize; TABLE.len()],
    /// The pages written so far.
    pages: Vec<Ref>,
    page: Option<Page>,
}

impl OrdersPdf {
    fn new(heading: Heading) -> anyhow::Result<Self> {
        let mut file = PdfFile::create()?;
        let ids = Ids {
            catalog: file.alloc(),
            tree: file.alloc(),
            regular: file.alloc(),
            bold: file.alloc(),
            total: file.alloc(),
            info: file.alloc(),
        };
        for (id, font) in [(ids.regular, Font::Regular), (ids.bold, Font::Bold)] {
            file.object(|c| {
                c.type1_font(id)
                    .base_font(Name(font.base_name()))
                    .encoding_predefined(Name(b"WinAnsiEncoding"));
            })?;
        }
        Ok(OrdersPdf {
            file,
            heading,
            ids,
            cells: table_cells()?,
            pages: Vec::new(),
            page: None,
        })
    }

    /// Adds a row, on a new page when this one is full.
    fn append(&mut self, view: &OrderView) -> anyhow::Result<()> {
        let order = Order::from(view);
        let cells = order.export_cells();
        let texts = self
            .cells
            .map(|i| encode(&cell_text(&cells[i], COLUMNS[i].rupiah)));
        let page = self.page_with_room()?;
        draw_row(&mut page.content, page.rows, &texts);
        page.rows += 1;
        Ok(())
    }

    /// Writes the last page (a page saying so when there are no rows), the total, the page
    /// tree and the catalog; returns the file, positioned at its start.
    fn save(mut self) -> anyhow::Result<File> {
        let last = match self.page.take() {
            Some(page) => page,
            None => {
                let mut page = self.new_page();
                draw_nothing_found(&mut page.content);
                page
            }
        };
        self.write_page(last)?;
        self.write_total()?;
        self.write_tree_and_catalog()?;
        Ok(self.file.finish(self.ids.catalog, self.ids.info)?)
    }

    /// The current page, or a new one when there is none or it is full (the full one is written).
    fn page_with_room(&mut self) -> io::Result<&mut Page> {
        match self.page.take() {
            Some(page) if !page.is_full() => Ok(self.page.insert(page)),
            full => {
                if let Some(page) = full {
                    self.write_page(page)?;
                }
                let next = self.new_page();
                Ok(self.page.insert(next))
            }
        }
    }

    /// A page with its heading drawn.
    fn new_page(&self) -> Page {
        let mut content = Content::new();
        draw_heading(&mut content, &self.heading, self.pages.len() + 1);
        Page { content, rows: 0 }
    }

    /// Writes `page`'s content (compressed) and the page.
    fn write_page(&mut self, page: Page) -> io::Result<()> {
        let data = deflate(&page.content.finish())?;
        let (page_id, content_id) = (self.file.alloc(), self.file.alloc());
        self.file.object(|c| {
            c.stream(content_id, &data).filter(Filter::FlateDecode);
        })?;
        let ids = &self.ids;
        self.file.object(|c| {
            let mut page = c.page(page_id);
            page.parent(ids.tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .contents(content_id);
            resources(page.resources(), ids);
        })?;
        self.pages.push(page_id);
        Ok(())
    }

    /// The number of pages, as the form every page's "dari" is followed by.
    fn write_total(&mut self) -> io::Result<()> {
        let mut content = Content::new();
        content
            .begin_text()
            .set_font(REGULAR, INFO_SIZE)
            .show(Str(self.pages.len().to_string().as_bytes()))
            .end_text();
        let data = content.finish();
        let (id, regular) = (self.ids.total, self.ids.regular);
        self.file.object(|c| {
            let mut form = c.form_xobject(id, &data);
            form.bbox(Rect::new(
                0.0,
                -INFO_SIZE,
                10.0 * INFO_SIZE,
                2.0 * INFO_SIZE,
            ));
            form.resources().fonts().pair(REGULAR, regular);
        })
    }

    fn write_tree_and_catalog(&mut self) -> io::Result<()> {
        let (ids, pages) = (&self.ids, &self.pages);
        self.file.object(|c| {
            c.pages(ids.tree)
                .kids(pages.iter().copied())
                .count(pages.len() as i32);
        })?;
        self.file.object(|c| {
            c.indirect(ids.catalog).start::<Catalog>().pages(ids.tree);
        })?;
        let created = pdf_date(self.heading.at);
        self.file.object(|c| {
            c.indirect(ids.info)
                .start::<DocumentInfo>()
                .title(TextStr(TITLE))
                .producer(TextStr("Gadai dashboard-api"))
                .creation_date(created);
        })
    }
}

/// Where each column of [`TABLE`] is among the export's columns.
fn table_cells() -> io::Result<[usize; TABLE.len()]> {
    let mut cells = [0; TABLE.len()];
    for (cell, column) in cells.iter_mut().zip(&TABLE) {
        *cell = COLUMNS
            .iter()
            .position(|c| c.name == column.field)
            .ok_or_else(|| io::Error::other(format!("no export column {}", column.field)))?;
    }
    Ok(cells)
}

/// The fonts and the total, under the names the content streams use.
fn resources(mut resources: Resources, ids: &Ids) {
    resources
        .fonts()
        .pair(REGULAR, ids.regular)
        .pair(BOLD, ids.bold);
    resources.x_objects().pair(TOTAL, ids.total);
}

/// `at` as a PDF date in Jakarta time.
fn pdf_date(at: DateTime<Utc>) -> Date {
    let local = (at + TimeDelta::seconds(WIB_SECONDS)).naive_utc();
    Date::new(local.year().clamp(0, 9999) as u16)
        .month(local.month() as u8)
        .day(local.day() as u8)
        .hour(local.hour() as u8)
        .minute(local.minute() as u8)
        .second(local.second() as u8)
        .utc_offset_hour((WIB_SECONDS / 3600) as i8)
        .utc_offset_minute(0)
}

fn deflate(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 3), Compression::fast());
    encoder.write_all(data)?;
    encoder.finish()
}

// ---- Drawing ----

/// The title, the time of the export, the filters, "Halaman X dari Y" and the column names.
fn draw_heading(content: &mut Content, heading: &Heading, number: usize) {
    show(
        content,
        Font::Bold,
        TITLE_SIZE,
        MARGIN,
        TITLE_Y,
        &encode(TITLE),
    );
    let exported_x = PAGE_WIDTH - MARGIN - Font::Regular.width(&heading.exported, INFO_SIZE);
    show(
        content,
        Font::Regular,
        INFO_SIZE,
        exported_x,
        TITLE_Y,
        &heading.exported,
    );
    let room = PAGE_NUMBER_X - MARGIN - 2.0 * INFO_SIZE;
    let filters = Font::Regular.fit(&heading.filters, INFO_SIZE, room);
    show(content, Font::Regular, INFO_SIZE, MARGIN, INFO_Y, &filters);
    draw_page_number(content, number);

    content
        .set_fill_gray(0.85)
        .rect(MARGIN, ROWS_TOP, TABLE_WIDTH, HEADER_HEIGHT)
        .fill_nonzero()
        .set_fill_gray(0.0);
    let labels = TABLE.map(|column| encode(column.label));
    let baseline = ROWS_TOP + (HEADER_HEIGHT - CELL_SIZE) / 2.0 + 1.0;
    draw_cells(content, Font::Bold, baseline, &labels);
}

/// "Halaman X dari ", then the total's form.
fn draw_page_number(content: &mut Content, number: usize) {
    let label = encode(&format!("Halaman {number} dari "));
    show(
        content,
        Font::Regular,
        INFO_SIZE,
        PAGE_NUMBER_X,
        INFO_Y,
        &label,
    );
    let total_x = PAGE_NUMBER_X + Font::Regular.width(&label, INFO_SIZE);
    content
        .save_state()
        .transform([1.0, 0.0, 0.0, 1.0, total_x, INFO_Y])
        .x_object(TOTAL)
        .restore_state();
}

/// Row `index` of the page (0 is the first under the column names); every other row shaded.
fn draw_row(content: &mut Content, index: usize, texts: &[Vec<u8>; TABLE.len()]) {
    let top = ROWS_TOP - index as f32 * ROW_HEIGHT;
    if index % 2 == 1 {
        content
            .set_fill_gray(0.94)
            .rect(MARGIN, top - ROW_HEIGHT, TABLE_WIDTH, ROW_HEIGHT)
            .fill_nonzero()
            .set_fill_gray(0.0);
    }
    draw_cells(content, Font::Regular, top - BASELINE_DROP, texts);
}

/// One line of the table: each text in its column, cut to fit inside the column's padding.
/// Each cell's start is a move from the previous one (`Td`: two numbers, mostly whole, where a
/// text matrix takes six; a large export has a million cells).
fn draw_cells(content: &mut Content, font: Font, baseline: f32, texts: &[Vec<u8>; TABLE.len()]) {
    content.begin_text().set_font(font_name(font), CELL_SIZE);
    let (mut left, mut previous) = (MARGIN, (0.0, 0.0));
    for (column, text) in TABLE.iter().zip(texts) {
        let fitted = font.fit(text, CELL_SIZE, column.width - 2.0 * PADDING);
        let x = match column.align {
            Align::Left => left + PADDING,
            Align::Right => left + column.width - PADDING - font.width(&fitted, CELL_SIZE),
        };
        content
            .next_line(x - previous.0, baseline - previous.1)
            .show(Str(&fitted));
        (left, previous) = (left + column.width, (x, baseline));
    }
    content.end_text();
}

fn draw_nothing_found(content: &mut Content) {
    let text = encode("Tidak ada pengajuan yang cocok dengan filter.");
    show(
        content,
        Font::Regular,
        INFO_SIZE,
        MARGIN + PADDING,
        ROWS_TOP - 16.0,
        &text,
    );
}

/// `text` at (`x`, `y`), its baseline's start.
fn show(content: &mut Content, font: Font, size: f32, x: f32, y: f32, text: &[u8]) {
    content
        .begin_text()
        .set_font(font_name(font), size)
        .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
        .show(Str(text))
        .end_text();
}

fn font_name(font: Font) -> Name<'static> {
    match font {
        Font::Regular => REGULAR,
        Font::Bold => BOLD,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn rupiah_has_dots_between_thousands() {
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(999), "Rp 999");
        assert_eq!(rupiah(1_000), "Rp 1.000");
        assert_eq!(rupiah(1_299), "Rp 1.299");
        assert_eq!(rupiah(12_500_000), "Rp 12.500.000");
        assert_eq!(rupiah(123_456_789_012), "Rp 123.456.789.012");
        assert_eq!(rupiah(-7_500), "-Rp 7.500");
        assert_eq!(rupiah(i64::MIN), "-Rp 9.223.372.036.854.775.808");
    }

    #[test]
    fn the_table_shows_export_columns_and_fits_the_page() {
        let cells = table_cells().unwrap();
        assert_eq!(COLUMNS[cells[0]].name, "id");
        assert!(COLUMNS[cells[7]].rupiah, "estimasi_nilai_barang");
        let width: f32 = TABLE.iter().map(|c| c.width).sum();
        assert!(width <= TABLE_WIDTH, "{width} > {TABLE_WIDTH}");
        let fits = |i: usize, text: &str| {
            let room = TABLE[i].width - 2.0 * PADDING;
            Font::Regular.width(&encode(text), CELL_SIZE) <= room
                && Font::Bold.width(&encode(TABLE[i].label), CELL_SIZE) <= room
        };
        // The widest UUID (every digit a "d"), a time, a large value, the longest status.
        assert!(fits(0, "dddddddd-dddd-dddd-dddd-dddddddddddd"));
        assert!(fits(1, "2026-12-31 23:59"));
        assert!(fits(7, &rupiah(99_999_999_999)));
        assert!(fits(9, "On Verification"));
    }

    #[test]
    fn the_heading_names_the_filters_or_semua() {
        let none = Criteria {
            status: None,
            wilayah: None,
            q: None,
            sort: "created_at",
            descending: true,
        };
        assert_eq!(
            describe(&none),
            "Filter \u{2014} status: semua \u{b7} wilayah: semua \u{b7} q: semua \u{b7} urutan: created_at desc"
        );
        let some = Criteria {
            status: Some("Verified"),
            wilayah: Some("Bandung"),
            q: Some("budi"),
            sort: "nama_customer",
            descending: false,
        };
        assert_eq!(
            describe(&some),
            "Filter \u{2014} status: Verified \u{b7} wilayah: Bandung \u{b7} q: \"budi\" \u{b7} urutan: nama_customer asc"
        );
        let at = DateTime::parse_from_rfc3339("2026-03-31T23:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(wib(at), "2026-04-01 06:30");
    }

    #[test]
    fn cells_are_escaped_and_cut_to_their_column() {
        let mut texts = TABLE.map(|_| Vec::new());
        texts[2] = encode("Budi (Jr) \\ 王");
        texts[3] = encode("a) (b");
        texts[4] = encode(&"Laptop ASUS ROG Strix ".repeat(5));
        let mut content = Content::new();
        draw_cells(&mut content, Font::Regular, 100.0, &texts);
        let bytes = content.finish().to_vec();
        let stream = String::from_utf8_lossy(&bytes);

        assert!(stream.contains(r"(Budi (Jr) \\ ?) Tj"), "{stream}");
        assert!(stream.contains(r"(a\) \(b) Tj"), "{stream}");
        // Cut with "…" (WinAnsi 0x85), so not ASCII: a hex string.
        let cut = Font::Regular.fit(&texts[4], CELL_SIZE, TABLE[4].width - 2.0 * PADDING);
        assert_eq!(cut.last(), Some(&0x85));
        let hex: String = cut.iter().map(|b| format!("{b:02X}")).collect();
        assert!(stream.contains(&format!("<{hex}> Tj")), "{stream}");
    }

    fn order(i: usize) -> OrderView {
        let mut view = OrderView::empty(uuid::Uuid::now_v7());
        view.facts = Some(crate::domain::OrderFacts {
            personal: Some(crate::domain::OrderPersonal {
                nama_customer: format!("Nasabah {i}"),
                email: "n@example.com".into(),
                nama_barang: "Laptop".into(),
                id_percakapan: None,
            }),
            customer: Default::default(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 12_500_000,
            wilayah: "Bandung".into(),
            created_at: Utc::now(),
        });
        view
    }

    fn saved(rows: usize) -> String {
        let criteria = Criteria {
            status: None,
            wilayah: Some("Bandung"),
            q: None,
            sort: "created_at",
            descending: true,
        };
        let mut pdf = OrdersPdf::new(Heading::new(&criteria, Utc::now())).unwrap();
        for i in 0..rows {
            pdf.append(&order(i)).unwrap();
        }
        let mut bytes = Vec::new();
        pdf.save().unwrap().read_to_end(&mut bytes).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn rows_fill_pages_and_the_total_is_written_once() {
        let pdf = saved(ROWS_PER_PAGE * 2 + 1);
        assert!(pdf.starts_with("%PDF-1.7\n"));
        assert!(pdf.ends_with("%%EOF\n"));
        assert_eq!(pdf.matches("/Type/Page/").count(), 3, "three pages");
        assert!(pdf.contains("/Count 3"), "the page tree");
        assert_eq!(pdf.matches("/Subtype/Form").count(), 1);
        assert!(pdf.contains("BT\n/F1 8 Tf\n(3) Tj\nET"), "the total: 3");
    }

    #[test]
    fn no_rows_is_one_page_that_says_so() {
        let pdf = saved(0);
        assert_eq!(pdf.matches("/Type/Page/").count(), 1);
        assert!(pdf.contains("/Count 1"));
    }
}
