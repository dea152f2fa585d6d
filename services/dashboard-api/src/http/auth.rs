//! Who is acting. Operator login (sessions, roles) arrives with the dashboard issue; until then
//! every dashboard request acts as the one unauthenticated operator below, and write routes
//! already take an [`Operator`], so the session check slots in here without touching them.

use axum::{extract::FromRequestParts, http::request::Parts};
use gadai_kit::ApiError;

/// The operator a request acts for; recorded as the events' `actor`.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Operator {
            id: "dashboard".to_owned(),
        })
    }
}
