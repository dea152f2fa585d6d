#!/usr/bin/env bash
# Runs once, when the postgres container starts on an empty data volume (the image's
# /docker-entrypoint-initdb.d). Creates:
#   - the Gadai database ($GADAI_DB) and one login role per service: gadai_intake,
#     gadai_dashboard, gadai_mailer, gadai_sweeper. Each may CONNECT and CREATE schemas in that
#     database (a service creates its own schema, and `rebuild` a <schema>_rebuild beside it) and
#     owns what it creates, so no service can read another's schema.
#   - the extensions the services' migrations need (pg_trgm for dashboard-api), created here
#     because the service roles may not create objects in the public schema;
#   - n8n's database ($N8N_DB) owned by its role ($N8N_DB_USER); the agent's chat memory lives
#     there too.
# Passwords come from the environment (compose/.env) and are passed to psql as variables, never
# spliced into SQL text. To change them later, ALTER ROLE by hand or recreate the volume.
set -euo pipefail

psql_admin() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" "$@"
}

echo "10-gadai: database ${GADAI_DB} with a role per service; database ${N8N_DB} for n8n"

psql_admin --dbname postgres \
    -v gadai_db="$GADAI_DB" \
    -v intake_pw="$GADAI_INTAKE_DB_PASSWORD" \
    -v dashboard_pw="$GADAI_DASHBOARD_DB_PASSWORD" \
    -v mailer_pw="$GADAI_MAILER_DB_PASSWORD" \
    -v sweeper_pw="$GADAI_SWEEPER_DB_PASSWORD" \
    -v n8n_db="$N8N_DB" \
    -v n8n_user="$N8N_DB_USER" \
    -v n8n_pw="$N8N_DB_PASSWORD" <<'SQL'
CREATE ROLE gadai_intake LOGIN PASSWORD :'intake_pw';
CREATE ROLE gadai_dashboard LOGIN PASSWORD :'dashboard_pw';
CREATE ROLE gadai_mailer LOGIN PASSWORD :'mailer_pw';
CREATE ROLE gadai_sweeper LOGIN PASSWORD :'sweeper_pw';
CREATE DATABASE :"gadai_db";
REVOKE ALL ON DATABASE :"gadai_db" FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"gadai_db"
    TO gadai_intake, gadai_dashboard, gadai_mailer, gadai_sweeper;

CREATE ROLE :"n8n_user" LOGIN PASSWORD :'n8n_pw';
CREATE DATABASE :"n8n_db" OWNER :"n8n_user";
REVOKE ALL ON DATABASE :"n8n_db" FROM PUBLIC;
SQL

# Extensions a service's migrations ask for (CREATE EXTENSION IF NOT EXISTS) but a service role
# may not create: dashboard-api's trigram search needs pg_trgm in the public schema, where the
# roles may use it but (Postgres 15+) create nothing.
psql_admin --dbname "$GADAI_DB" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
SQL
