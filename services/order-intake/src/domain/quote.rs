//! The loan value of pawned items under the regional rule, so the agent never does arithmetic.
//!
//! The old workflow's rule: 80 % of the unit price in DKI Jakarta, 70 % in Jawa Barat, 60 % in
//! Jawa Timur, 50 % elsewhere. The table is configuration (`LOAN_RATES`); a province is matched
//! without regard to case, spaces or a leading "Provinsi", with common short names
//! (Jakarta, Jabar, Jatim).

use gadai_http::FieldError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Percentages by province, and the one for everywhere else.
#[derive(Debug, Clone)]
pub struct LoanRates {
    provinces: Vec<(String, u32)>,
    default: u32,
}

pub const DEFAULT_LOAN_RATES: &str = "DKI Jakarta=80,Jawa Barat=70,Jawa Timur=60,*=50";

/// Names people use for a province, mapped to the table's name.
const ALIASES: &[(&str, &str)] = &[
    ("jakarta", "dki jakarta"),
    ("dki", "dki jakarta"),
    ("daerah khusus ibukota jakarta", "dki jakarta"),
    ("jabar", "jawa barat"),
    ("west java", "jawa barat"),
    ("jatim", "jawa timur"),
    ("east java", "jawa timur"),
];

fn normalize(province: &str) -> String {
    let lower = province
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let bare = lower.strip_prefix("provinsi ").unwrap_or(&lower).to_owned();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == bare)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or(bare)
}

impl LoanRates {
    /// Parses `Name=percent,...,*=percent`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut provinces = Vec::new();
        let mut default = None;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, pct) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not Name=percent"))?;
            let pct: u32 = pct
                .trim()
                .parse()
                .map_err(|_| format!("{entry:?}: the percent is not a whole number"))?;
            if pct > 100 {
                return Err(format!("{entry:?}: more than 100 %"));
            }
            match name.trim() {
                "*" => default = Some(pct),
                name => provinces.push((normalize(name), pct)),
            }
        }
        Ok(LoanRates {
            provinces,
            default: default.ok_or("a default rate (*=percent) is required")?,
        })
    }

    /// The percentage for a province, and the table's name for it (None: everywhere else).
    pub fn rate_for(&self, province: &str) -> (u32, Option<&str>) {
        let wanted = normalize(province);
        match self.provinces.iter().find(|(name, _)| *name == wanted) {
            Some((name, pct)) => (*pct, Some(name.as_str())),
            None => (self.default, None),
        }
    }
}

/// One priced item of a quote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct QuotedItem {
    pub nama_barang: String,
    pub jumlah_barang: i64,
    pub harga_satuan: i64,
    pub nilai_barang: i64,
    pub nilai_pinjaman: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Quote {
    pub wilayah: String,
    pub persentase: u32,
    #[schema(inline)]
    pub items: Vec<QuotedItem>,
    pub total_nilai_barang: i64,
    pub total_nilai_pinjaman: i64,
}

/// One item's value (quantity x unit price) must stay below this: Rp 10^13, the largest
/// estimate an order may carry.
const MAX_ITEM_VALUE_EXCLUSIVE: i64 = 10_000_000_000_001;

/// Parses a quote request: `{"wilayah": "...", "items": [{"nama_barang", "jumlah_barang",
/// "harga_satuan"}]}`; every failing field is named. Amounts are whole Rupiah, rounded down.
pub fn quote(body: &Value, rates: &LoanRates) -> Result<Quote, Vec<FieldError>> {
    let mut errors = Vec::new();
    let wilayah = match body.get("wilayah") {
        Some(Value::String(w)) if !w.trim().is_empty() && w.len() <= 100 => {
            Some(w.trim().to_owned())
        }
        _ => {
            errors.push(FieldError::at(
                &["wilayah".into()],
                "the province is required (e.g. \"Jawa Barat\")",
                "value_error.missing",
            ));
            None
        }
    };
    let items = match body.get("items") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 100 => items.clone(),
        _ => {
            errors.push(FieldError::at(
                &["items".into()],
                "a list of 1 to 100 items is required",
                "value_error.items",
            ));
            Vec::new()
        }
    };
    let mut quoted = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let loc = |f: &str| vec![Value::from("items"), Value::from(i), Value::from(f)];
        let name = item
            .get("nama_barang")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.len() <= 200);
        if name.is_none() {
            errors.push(FieldError::at(
                &loc("nama_barang"),
                "must be a non-empty string",
                "value_error.missing",
            ));
        }
        let count = whole(item.get("jumlah_barang")).filter(|n| (1..=1_000_000).contains(n));
        if count.is_none() {
            errors.push(FieldError::at(
                &loc("jumlah_barang"),
                "must be a whole number from 1",
                "value_error.number",
            ));
        }
        let price =
            whole(item.get("harga_satuan")).filter(|n| (0..=10_000_000_000_000).contains(n));
        if price.is_none() {
            errors.push(FieldError::at(
                &loc("harga_satuan"),
                "must be a whole number of Rupiah, 0 or more",
                "value_error.number",
            ));
        }
        // Each item's value is bounded like an order's estimate, so no product or total of up
        // to 100 items can overflow (100 x 10^13 is far below i64::MAX).
        let value = count.zip(price).map(|(c, p)| c.checked_mul(p));
        if let Some(None) | Some(Some(MAX_ITEM_VALUE_EXCLUSIVE..)) = value {
            errors.push(FieldError::at(
                &loc("harga_satuan"),
                "jumlah_barang x harga_satuan must be at most Rp 10.000.000.000.000",
                "value_error.number.too_large",
            ));
        } else if let (Some(name), Some(count), Some(price)) = (name, count, price) {
            quoted.push((name.to_owned(), count, price));
        }
    }
    let Some(wilayah) = wilayah.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let (pct, _) = rates.rate_for(&wilayah);
    let items: Vec<QuotedItem> = quoted
        .into_iter()
        .map(|(nama_barang, jumlah_barang, harga_satuan)| {
            let nilai_barang = harga_satuan * jumlah_barang;
            QuotedItem {
                nama_barang,
                jumlah_barang,
                harga_satuan,
                nilai_barang,
                nilai_pinjaman: (nilai_barang as i128 * pct as i128 / 100) as i64,
            }
        })
        .collect();
    Ok(Quote {
        wilayah,
        persentase: pct,
        total_nilai_barang: items.iter().map(|i| i.nilai_barang).sum(),
        total_nilai_pinjaman: items.iter().map(|i| i.nilai_pinjaman).sum(),
        items,
    })
}

fn whole(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s)
            if !s.trim().is_empty()
                && s.trim().bytes().all(|b| b.is_ascii_digit())
                && s.trim().len() <= 18 =>
        {
            s.trim().parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rates() -> LoanRates {
        LoanRates::parse(DEFAULT_LOAN_RATES).unwrap()
    }

    #[test]
    fn the_regional_rule_applies_per_province() {
        let r = rates();
        assert_eq!(r.rate_for("DKI Jakarta").0, 80);
        assert_eq!(r.rate_for("jakarta").0, 80);
        assert_eq!(r.rate_for("Provinsi Jawa  Barat").0, 70);
        assert_eq!(r.rate_for("JATIM").0, 60);
        assert_eq!(r.rate_for("Bali"), (50, None));
    }

    #[test]
    fn a_quote_multiplies_rounds_down_and_totals() {
        let body = json!({"wilayah": "Jawa Barat", "items": [
            {"nama_barang": "iPhone 13", "jumlah_barang": 2, "harga_satuan": 7_000_001},
            {"nama_barang": "Emas Antam", "jumlah_barang": "10", "harga_satuan": "1500000"}
        ]});
        let q = quote(&body, &rates()).unwrap();
        assert_eq!(q.persentase, 70);
        assert_eq!(q.items[0].nilai_barang, 14_000_002);
        assert_eq!(q.items[0].nilai_pinjaman, 9_800_001);
        assert_eq!(q.items[1].nilai_pinjaman, 10_500_000);
        assert_eq!(q.total_nilai_pinjaman, 20_300_001);
        assert_eq!(q.total_nilai_barang, 29_000_002);
    }

    #[test]
    fn values_that_could_overflow_a_total_are_refused_and_the_largest_add_up() {
        let too_much = json!({"wilayah": "Bali", "items": [
            {"nama_barang": "Emas Antam", "jumlah_barang": 1_000_000, "harga_satuan": 10_000_000_000_000_i64}
        ]});
        let errors = quote(&too_much, &rates()).unwrap_err();
        let paths: Vec<String> = errors.iter().map(FieldError::field_path).collect();
        assert_eq!(paths, ["items.0.harga_satuan"]);
        let item = json!({"nama_barang": "Emas Antam", "jumlah_barang": 1_000, "harga_satuan": 10_000_000_000_i64});
        let largest = json!({"wilayah": "Bali", "items": vec![item; 100]});
        let q = quote(&largest, &rates()).unwrap();
        assert_eq!(q.total_nilai_barang, 100 * 10_000_000_000_000);
        assert_eq!(q.total_nilai_pinjaman, 50 * 10_000_000_000_000);
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = json!({"items": [{"nama_barang": "", "jumlah_barang": 0, "harga_satuan": -1}]});
        let errors = quote(&body, &rates()).unwrap_err();
        let paths: Vec<String> = errors.iter().map(FieldError::field_path).collect();
        assert_eq!(
            paths,
            [
                "wilayah",
                "items.0.nama_barang",
                "items.0.jumlah_barang",
                "items.0.harga_satuan"
            ]
        );
    }

    #[test]
    fn the_table_is_checked() {
        assert!(
            LoanRates::parse("Bali=60").is_err(),
            "a default is required"
        );
        assert!(LoanRates::parse("Bali=160,*=50").is_err());
        assert!(LoanRates::parse("Bali,*=50").is_err());
    }
}
