//! API errors: one enum, mapped to statuses in one place, always answered as JSON
//! `{"error": "..."}` — the framework's own rejections too (see `guard::one_shape`).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid token.
    #[error("{0}")]
    Unauthorized(String),
    /// No such environment or route.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is too large.
    #[error("{0}")]
    TooLarge(String),
    /// The body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// The URI is longer than the API takes.
    #[error("{0}")]
    UriTooLong(String),
    /// Too many state-changing requests from this identity.
    #[error("too many requests: retry in {} s", .0.as_secs())]
    TooManyRequests(Duration),
    /// The state store cannot be reached; nothing was changed.
    #[error("{0}; nothing was changed, try again")]
    Unavailable(String),
    /// The state store cannot be used (`/healthz`).
    #[error("unhealthy: {0}")]
    Unhealthy(String),
    /// A rejection the HTTP framework made (a method the route does not take, a path that is
    /// not UTF-8, ...), answered in this shape like every other.
    #[error("{1}")]
    Framework(StatusCode, String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Unhealthy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Framework(status, _) => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status(),
            axum::Json(json!({ "error": self.to_string() })),
        )
            .into_response();
        match &self {
            ApiError::Unauthorized(_) => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"lightsout\""),
                );
            }
            ApiError::RequestTimeout(_) => {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::TooManyRequests(after) => {
                if let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}
