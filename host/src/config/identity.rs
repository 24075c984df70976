//! What this service is called and which build it is: the names its
//! traces, its database sessions and `GET /` go by.

/// The service's name (OpenTelemetry `service.name`, PostgreSQL
/// `application_name`, `GET /`).
pub const SERVICE_NAME: &str = "shop-api";
/// The git revision of this build (build.rs: `GIT_REVISION`, else `git
/// rev-parse --short=12 HEAD`, else "unknown").
pub const REVISION: &str = env!("GIT_REVISION");
