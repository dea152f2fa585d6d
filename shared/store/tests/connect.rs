//! `connect` against the machine's Postgres: a service's connections say whose they are.

use gadai_store::DbSettings;

fn url(extra: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let glue = if base.contains('?') { '&' } else { '?' };
    if extra.is_empty() {
        base
    } else {
        format!("{base}{glue}{extra}")
    }
}

/// The `application_name` and `search_path` of a connection made with `settings`.
async fn name_and_path(settings: &DbSettings) -> (String, String) {
    let pool = gadai_store::connect(settings).await.expect("Postgres");
    sqlx::query_as(
        "SELECT application_name, current_setting('search_path')
         FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_services_connections_are_named_after_its_schema_unless_the_url_names_them() {
    let schema = format!("store_connect_{}", std::process::id());
    let vars = |extra: &'static str| {
        let schema = schema.clone();
        move |name: &str| match name {
            "DATABASE_URL" => Some(url(extra)),
            "DB_SCHEMA" => Some(schema.clone()),
            _ => None,
        }
    };
    let named = DbSettings::from_lookup("x", vars("")).unwrap();
    assert_eq!(
        name_and_path(&named).await,
        (schema.clone(), schema.clone())
    );

    let given = DbSettings::from_lookup("x", vars("application_name=ops-console")).unwrap();
    assert_eq!(
        name_and_path(&given).await,
        ("ops-console".to_owned(), schema.clone())
    );
}
