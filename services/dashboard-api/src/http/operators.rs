//! Managing operators (admins only): `GET/POST /dashboard/operators`,
//! `PATCH /dashboard/operators/{id}` (role, active, password).

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use gadai_http::{ApiError, FieldError};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    AppState,
    auth::Operator,
    openapi::{Message, OperatorInfo},
};
use crate::domain::operator::{Role, check_password, hash_password_capped, parse_username};

#[utoipa::path(
    get,
    path = "/dashboard/operators",
    operation_id = "listOperators",
    summary = "All operators (admin)",
    responses(
        (status = 200, description = "Operators", body = inline(Vec<OperatorInfo>)),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin", body = super::openapi::Error),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Vec<OperatorInfo>>, ApiError> {
    operator.require_admin()?;
    let rows: Vec<(Uuid, String, String, String, bool)> = sqlx::query_as(
        "SELECT id, username, display_name, role, active FROM operators ORDER BY username",
    )
    .fetch_all(&state.pool)
    .await
    .map_err(anyhow::Error::from)?;
    let operators = rows
        .into_iter()
        .map(|(id, username, display_name, role, active)| {
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
            Ok(OperatorInfo {
                id,
                username,
                display_name,
                role: role.into(),
                active,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Json(operators))
}

#[derive(Deserialize)]
pub struct NewOperator {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/dashboard/operators",
    operation_id = "createOperator",
    summary = "Create an operator (admin)",
    request_body(content = inline(super::openapi::NewOperatorRequest)),
    responses(
        (status = 201, description = "Created", body = inline(OperatorInfo)),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin, or CSRF", body = super::openapi::Error),
        (status = 409, description = "Username taken", body = super::openapi::Error),
        (status = 422, description = "Each invalid field named", body = super::openapi::ValidationError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    operator: Operator,
    body: Result<Json<NewOperator>, JsonRejection>,
) -> Result<(StatusCode, Json<OperatorInfo>), ApiError> {
    operator.require_admin()?;
    let Json(body) = body?;
    let mut errors = Vec::new();
    let username = parse_username(&body.username)
        .map_err(|m| {
            errors.push(FieldError::at(
                &["username".into()],
                m,
                "value_error.username",
            ))
        })
        .ok();
    let _ = check_password(&body.password).map_err(|m| {
        errors.push(FieldError::at(
            &["password".into()],
            m,
            "value_error.password",
        ))
    });
    let role = Role::parse(&body.role);
    if role.is_none() {
        errors.push(FieldError::at(
            &["role".into()],
            "admin or operator",
            "value_error.role",
        ));
    }
    let (Some(username), Some(role), true) = (username, role, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let display_name = body
        .display_name
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| username.clone());
    let id = create_operator(&state.pool, &username, &display_name, &body.password, role)
        .await
        .map_err(|e| match e.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                ApiError::Conflict(format!("Username {username} sudah dipakai"))
            }
            _ => ApiError::Unexpected(e),
        })?;
    tracing::info!(by = %operator.id, %username, role = role.as_str(), "operator created");
    Ok((
        StatusCode::CREATED,
        Json(OperatorInfo {
            id,
            username,
            display_name,
            role: role.into(),
            active: true,
        }),
    ))
}

/// Creates an operator (also used by the CLI and the first-admin bootstrap).
pub async fn create_operator(
    pool: &sqlx::PgPool,
    username: &str,
    display_name: &str,
    password: &str,
    role: Role,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let hash = hash_password_capped(password).await?;
    sqlx::query("INSERT INTO operators (id, username, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(username)
        .bind(display_name)
        .bind(hash)
        .bind(role.as_str())
        .execute(pool)
        .await?;
    Ok(id)
}

/// Sets a new password and ends the operator's sessions (also used by the CLI).
pub async fn set_password(pool: &sqlx::PgPool, id: Uuid, password: &str) -> anyhow::Result<()> {
    let hash = hash_password_capped(password).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE operators SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE operator_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct Change {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    password: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/dashboard/operators/{id}",
    operation_id = "updateOperator",
    summary = "Change role, deactivate (ends sessions) or set a password (admin)",
    params(("id" = Uuid, Path)),
    request_body(content = inline(super::openapi::OperatorChange)),
    responses(
        (status = 200, description = "Updated", body = inline(Message)),
        (status = 400, description = "An admin cannot deactivate or demote itself", body = super::openapi::Error),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin, or CSRF", body = super::openapi::Error),
        (status = 404, description = "Unknown operator", body = super::openapi::Error),
        (status = 422, description = "Invalid role or password", body = super::openapi::ValidationError),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<Uuid>,
    body: Result<Json<Change>, JsonRejection>,
) -> Result<Json<Message>, ApiError> {
    operator.require_admin()?;
    let Json(change) = body?;
    if id == operator.operator_id
        && (change.active == Some(false) || change.role.as_deref() == Some("operator"))
    {
        return Err(ApiError::BadRequest(
            "Admin tidak dapat menonaktifkan atau menurunkan dirinya sendiri".into(),
        ));
    }
    let role = match change.role.as_deref() {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| {
            ApiError::Validation(vec![FieldError::at(
                &["role".into()],
                "admin or operator",
                "value_error.role",
            )])
        })?),
    };
    if let Some(password) = &change.password {
        check_password(password).map_err(|m| {
            ApiError::Validation(vec![FieldError::at(
                &["password".into()],
                m,
                "value_error.password",
            )])
        })?;
    }
    let updated = sqlx::query(
        "UPDATE operators SET role = coalesce($2, role), active = coalesce($3, active) WHERE id = $1",
    )
    .bind(id)
    .bind(role.map(Role::as_str))
    .bind(change.active)
    .execute(&state.pool)
    .await
    .map_err(anyhow::Error::from)?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::NotFound("Operator tidak ditemukan".into()));
    }
    if change.active == Some(false) {
        sqlx::query("DELETE FROM sessions WHERE operator_id = $1")
            .bind(id)
            .execute(&state.pool)
            .await
            .map_err(anyhow::Error::from)?;
    }
    if let Some(password) = &change.password {
        set_password(&state.pool, id, password).await?;
    }
    tracing::info!(by = %operator.id, operator = %id, "operator changed");
    Ok(Json(Message {
        message: "Operator diperbarui",
    }))
}
