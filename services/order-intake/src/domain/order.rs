//! Parsing an incoming order into a [`NewOrder`], deterministically, with the rules the old
//! system asked an LLM to check. Every failing field is reported, not just the first.

use gadai_http::FieldError;
use serde_json::Value;

/// The most orders one request may carry.
pub const MAX_BATCH: usize = 100;
const MAX_NAME: usize = 100;
const MAX_ITEM: usize = 200;
const MAX_REGION: usize = 100;
const MAX_CONVERSATION: usize = 200;
const MAX_QUANTITY: i64 = 1_000_000;
/// Ten trillion Rupiah: far above any pawnable item, low enough to catch unit mistakes.
const MAX_VALUE: i64 = 10_000_000_000_000;

/// Words an agent writes when it does not know the customer's name.
const PLACEHOLDER_NAMES: &[&str] = &[
    "user",
    "pengguna",
    "customer",
    "pelanggan",
    "nama",
    "name",
    "test",
    "testing",
    "unknown",
    "anonymous",
    "anonim",
    "tidak diketahui",
    "tidak ada",
    "n/a",
    "na",
    "null",
    "none",
    "-",
    "nasabah",
    "john doe",
    "fulan",
];

/// Accepted item categories (`jenis_barang`), matched without regard to case.
#[derive(Debug, Clone)]
pub struct Catalog {
    categories: Vec<String>,
}

impl Catalog {
    pub fn new(categories: impl IntoIterator<Item = String>) -> Self {
        Catalog {
            categories: categories
                .into_iter()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }

    fn find(&self, text: &str) -> Option<&str> {
        let wanted = text.trim().to_lowercase();
        self.categories
            .iter()
            .find(|c| **c == wanted)
            .map(String::as_str)
    }

    pub fn names(&self) -> &[String] {
        &self.categories
    }
}

/// Which e-mail domains are accepted; empty accepts every well-formed address.
#[derive(Debug, Clone, Default)]
pub struct EmailPolicy {
    pub allowed_domains: Vec<String>,
}

/// Everything the parser needs to know from configuration.
#[derive(Debug, Clone)]
pub struct OrderRules {
    pub catalog: Catalog,
    pub email: EmailPolicy,
}

/// A valid order. Fields are private: holding one proves it passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    nama_customer: String,
    email: String,
    nama_barang: String,
    jenis_barang: String,
    jumlah_barang: i64,
    estimasi_nilai_barang: i64,
    wilayah: String,
    id_percakapan: Option<String>,
}

impl NewOrder {
    pub fn into_event_data(
        self,
        idempotency: Option<gadai_events::IdempotencyRef>,
    ) -> gadai_events::OrderCreated {
        gadai_events::OrderCreated {
            nama_customer: self.nama_customer,
            email: self.email,
            nama_barang: self.nama_barang,
            jenis_barang: self.jenis_barang,
            jumlah_barang: self.jumlah_barang,
            estimasi_nilai_barang: self.estimasi_nilai_barang,
            wilayah: self.wilayah,
            id_percakapan: self.id_percakapan,
            idempotency,
            subject: None,
        }
    }

    pub fn nama_customer(&self) -> &str {
        &self.nama_customer
    }

    pub fn email(&self) -> &str {
        &self.email
    }
}

/// Parses a request body: one order object or an array of them. All or nothing: any failing
/// field fails the whole request, and every failing field is named (`loc` as FastAPI did).
pub fn parse_orders(body: &Value, rules: &OrderRules) -> Result<Vec<NewOrder>, Vec<FieldError>> {
    match body {
        Value::Object(_) => parse_one(body, rules, &[]).map(|o| vec![o]),
        Value::Array(items) if items.is_empty() => Err(vec![FieldError::at(
            &[],
            "the list of orders is empty",
            "value_error.empty",
        )]),
        Value::Array(items) if items.len() > MAX_BATCH => Err(vec![FieldError::at(
            &[],
            &format!("at most {MAX_BATCH} orders per request"),
            "value_error.too_many",
        )]),
        Value::Array(items) => {
            let mut orders = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match parse_one(item, rules, &[Value::from(i)]) {
                    Ok(order) => orders.push(order),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            if errors.is_empty() {
                Ok(orders)
            } else {
                Err(errors)
            }
        }
        _ => Err(vec![FieldError::at(
            &[],
            "expected an order object or a list of orders",
            "type_error.object",
        )]),
    }
}

struct Fields<'a> {
    object: &'a serde_json::Map<String, Value>,
    prefix: &'a [Value],
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn fail(&mut self, field: &str, msg: impl AsRef<str>, kind: &str) {
        let mut loc = self.prefix.to_vec();
        loc.push(Value::from(field));
        self.errors.push(FieldError::at(&loc, msg.as_ref(), kind));
    }

    /// A required, non-empty, trimmed string of at most `max` characters.
    fn text(&mut self, field: &str, max: usize) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, "field required", "value_error.missing");
                None
            }
            Some(Value::String(s)) => {
                let s = collapse_spaces(s);
                if s.is_empty() {
                    self.fail(field, "must not be empty", "value_error.empty");
                    None
                } else if s.chars().count() > max {
                    self.fail(
                        field,
                        format!("at most {max} characters"),
                        "value_error.too_long",
                    );
                    None
                } else if s.chars().any(char::is_control) {
                    self.fail(
                        field,
                        "control characters are not allowed",
                        "value_error.control",
                    );
                    None
                } else {
                    Some(s)
                }
            }
            Some(_) => {
                self.fail(field, "must be a string", "type_error.str");
                None
            }
        }
    }

    /// A required whole number in `min..=max`. Strings of digits are accepted, because agents
    /// often quote numbers; fractions, signs in strings and other types are not.
    fn integer(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        let parsed = match self.object.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, "field required", "value_error.missing");
                return None;
            }
            Some(Value::Number(n)) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            }),
            Some(Value::String(s)) => {
                let s = s.trim();
                if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse().ok()
                } else {
                    None
                }
            }
            Some(_) => None,
        };
        match parsed {
            None => {
                self.fail(field, "must be a whole number", "type_error.integer");
                None
            }
            Some(n) if n < min => {
                self.fail(
                    field,
                    format!("must be at least {min}"),
                    "value_error.number.too_small",
                );
                None
            }
            Some(n) if n > max => {
                self.fail(
                    field,
                    format!("must be at most {max}"),
                    "value_error.number.too_large",
                );
                None
            }
            Some(n) => Some(n),
        }
    }
}

fn parse_one(
    item: &Value,
    rules: &OrderRules,
    prefix: &[Value],
) -> Result<NewOrder, Vec<FieldError>> {
    let Some(object) = item.as_object() else {
        return Err(vec![FieldError::at(
            prefix,
            "expected an order object",
            "type_error.object",
        )]);
    };
    let mut f = Fields {
        object,
        prefix,
        errors: Vec::new(),
    };
    let nama_customer =
        f.text("nama_customer", MAX_NAME)
            .and_then(|raw| match customer_name(&raw) {
                Ok(name) => Some(name),
                Err(msg) => {
                    f.fail("nama_customer", msg, "value_error.name");
                    None
                }
            });
    let email = f
        .text("email", 254)
        .and_then(|raw| match email(&raw, &rules.email) {
            Ok(e) => Some(e),
            Err(msg) => {
                f.fail("email", msg, "value_error.email");
                None
            }
        });
    let jenis_barang = f
        .text("jenis_barang", 50)
        .and_then(|raw| match rules.catalog.find(&raw) {
            Some(c) => Some(c.to_owned()),
            None => {
                let names = rules.catalog.names().join(", ");
                f.fail(
                    "jenis_barang",
                    format!("must be one of: {names}"),
                    "value_error.category",
                );
                None
            }
        });
    let nama_barang = f.text("nama_barang", MAX_ITEM).and_then(|raw| {
        if jenis_barang.as_deref() != Some("emas") {
            return Some(raw);
        }
        match gold_item(&raw) {
            Some(canonical) => Some(canonical.to_owned()),
            None => {
                f.fail(
                    "nama_barang",
                    "for emas only \"emas antam\" or \"emas UBS\" is accepted",
                    "value_error.gold",
                );
                None
            }
        }
    });
    let jumlah_barang = f.integer("jumlah_barang", 1, MAX_QUANTITY);
    let estimasi_nilai_barang = f.integer("estimasi_nilai_barang", 0, MAX_VALUE);
    let wilayah = f.text("wilayah", MAX_REGION);
    let id_percakapan = match object.get("id_percakapan") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(_)) => f.text("id_percakapan", MAX_CONVERSATION),
        Some(_) => {
            f.fail("id_percakapan", "must be a string", "type_error.str");
            None
        }
    };
    if !f.errors.is_empty() {
        return Err(f.errors);
    }
    match (
        nama_customer,
        email,
        nama_barang,
        jenis_barang,
        jumlah_barang,
        estimasi_nilai_barang,
        wilayah,
    ) {
        (
            Some(nama_customer),
            Some(email),
            Some(nama_barang),
            Some(jenis_barang),
            Some(jumlah_barang),
            Some(estimasi_nilai_barang),
            Some(wilayah),
        ) => Ok(NewOrder {
            nama_customer,
            email,
            nama_barang,
            jenis_barang,
            jumlah_barang,
            estimasi_nilai_barang,
            wilayah,
            id_percakapan,
        }),
        _ => unreachable!("every missing field recorded an error"),
    }
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Letters, spaces and name punctuation; no placeholders; stored title-cased.
pub fn customer_name(raw: &str) -> Result<String, String> {
    let name = collapse_spaces(raw);
    if name.chars().count() < 2 {
        return Err("must be at least 2 characters".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphabetic() || matches!(c, ' ' | '.' | '\'' | '-' | ',' | '’')))
    {
        return Err(format!(
            "must hold only letters, spaces and . ' - , (found {bad:?})"
        ));
    }
    if !name.chars().any(char::is_alphabetic) {
        return Err("must contain letters".into());
    }
    let lower = name.to_lowercase();
    let bare = lower.trim_matches(|c: char| !c.is_alphabetic());
    if PLACEHOLDER_NAMES.contains(&bare) || PLACEHOLDER_NAMES.contains(&lower.as_str()) {
        return Err(format!(
            "{name:?} is a placeholder, not the customer's name"
        ));
    }
    Ok(title_case(&name))
}

fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, ' ' | '-' | '\'' | '’' | '.');
    }
    out
}

/// A deliverable-looking address: local part and a dotted domain, domain lower-cased.
pub fn email(raw: &str, policy: &EmailPolicy) -> Result<String, String> {
    let raw = raw.trim();
    if raw.len() > 254 {
        return Err("at most 254 characters".into());
    }
    let Some((local, domain)) = raw.rsplit_once('@') else {
        return Err("must be an e-mail address like nama@contoh.com".into());
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return Err("the part before @ is not valid".into());
    }
    let domain = domain.to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !domain_ok {
        return Err("the domain after @ is not valid".into());
    }
    if !policy.allowed_domains.is_empty()
        && !policy
            .allowed_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&domain))
    {
        return Err(format!(
            "only addresses at {} are accepted",
            policy.allowed_domains.join(", ")
        ));
    }
    Ok(format!("{local}@{domain}"))
}

/// Gold is only accepted as Antam or UBS bullion.
fn gold_item(raw: &str) -> Option<&'static str> {
    match collapse_spaces(raw).to_lowercase().as_str() {
        "emas antam" => Some("Emas Antam"),
        "emas ubs" => Some("Emas UBS"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> OrderRules {
        OrderRules {
            catalog: Catalog::new(
                [
                    "televisi",
                    "handphone",
                    "kamera",
                    "laptop",
                    "emas",
                    "Elektronik",
                ]
                .map(String::from),
            ),
            email: EmailPolicy::default(),
        }
    }

    fn valid() -> Value {
        json!({
            "nama_customer": "budi  santoso",
            "email": "Budi.S@Gmail.COM",
            "nama_barang": "iPhone 14",
            "jenis_barang": "HANDPHONE",
            "jumlah_barang": 1,
            "estimasi_nilai_barang": 10000000,
            "wilayah": "DKI Jakarta",
            "id_percakapan": 123456
        })
    }

    fn fields_of(errors: &[FieldError]) -> Vec<String> {
        errors.iter().map(FieldError::field_path).collect()
    }

    #[test]
    fn a_valid_order_is_normalized() {
        let orders = parse_orders(&valid(), &rules()).unwrap();
        let data = orders[0].clone().into_event_data(None);
        assert_eq!(data.nama_customer, "Budi Santoso");
        assert_eq!(data.email, "Budi.S@gmail.com");
        assert_eq!(data.jenis_barang, "handphone");
        assert_eq!(data.id_percakapan.as_deref(), Some("123456"));
    }

    #[test]
    fn every_failing_field_is_named() {
        let body = json!({
            "nama_customer": "user",
            "email": "not-an-email",
            "nama_barang": "",
            "jenis_barang": "kulkas",
            "jumlah_barang": 0,
            "estimasi_nilai_barang": -5,
        });
        let errors = parse_orders(&body, &rules()).unwrap_err();
        assert_eq!(
            fields_of(&errors),
            [
                "nama_customer",
                "email",
                "jenis_barang",
                "nama_barang",
                "jumlah_barang",
                "estimasi_nilai_barang",
                "wilayah"
            ]
        );
    }

    #[test]
    fn a_batch_is_all_or_nothing_and_names_the_index() {
        let mut bad = valid();
        bad["email"] = json!("x@y");
        let errors = parse_orders(&json!([valid(), bad]), &rules()).unwrap_err();
        assert_eq!(fields_of(&errors), ["1.email"]);
    }

    #[test]
    fn gold_is_only_antam_or_ubs() {
        let mut gold = valid();
        gold["jenis_barang"] = json!("Emas");
        gold["nama_barang"] = json!("emas perhiasan");
        assert_eq!(
            fields_of(&parse_orders(&gold, &rules()).unwrap_err()),
            ["nama_barang"]
        );
        gold["nama_barang"] = json!("EMAS  ubs");
        let data = parse_orders(&gold, &rules())
            .unwrap()
            .remove(0)
            .into_event_data(None);
        assert_eq!(data.nama_barang, "Emas UBS");
    }

    #[test]
    fn numbers_may_be_quoted_but_not_fractional() {
        let mut order = valid();
        order["jumlah_barang"] = json!("3");
        order["estimasi_nilai_barang"] = json!(2500000.0);
        assert!(parse_orders(&order, &rules()).is_ok());
        order["jumlah_barang"] = json!(1.5);
        order["estimasi_nilai_barang"] = json!("Rp 10.000");
        assert_eq!(
            fields_of(&parse_orders(&order, &rules()).unwrap_err()),
            ["jumlah_barang", "estimasi_nilai_barang"]
        );
    }

    #[test]
    fn names_refuse_digits_and_placeholders() {
        assert!(customer_name("Budi123").is_err());
        assert!(customer_name("Pengguna").is_err());
        assert!(customer_name(" - ").is_err());
        assert_eq!(customer_name("siti nur'aini").unwrap(), "Siti Nur'Aini");
        assert_eq!(
            customer_name("JEAN-PIERRE o'neil").unwrap(),
            "Jean-Pierre O'Neil"
        );
    }

    #[test]
    fn the_email_allow_list_applies_when_set() {
        let policy = EmailPolicy {
            allowed_domains: vec!["gmail.com".into()],
        };
        assert!(email("a@gmail.com", &policy).is_ok());
        assert!(email("a@yahoo.com", &policy).is_err());
        assert!(email("a..b@gmail.com", &EmailPolicy::default()).is_err());
        assert!(email("a@-x.com", &EmailPolicy::default()).is_err());
    }

    #[test]
    fn empty_and_oversized_batches_are_refused() {
        assert!(parse_orders(&json!([]), &rules()).is_err());
        let many = Value::Array(vec![valid(); MAX_BATCH + 1]);
        assert!(parse_orders(&many, &rules()).is_err());
        assert!(parse_orders(&json!("order"), &rules()).is_err());
    }
}
