//! What the workers of one process share, made once at start: a rate limit
//! holds for the whole process, spans leave through one exporter, and the
//! workers on one port even out their connections. Settings say how each
//! is set up; these are the running things.

use crate::policy::rate_limit::Limiters;
use crate::server::balance::Balancer;
use crate::telemetry::traces::TracerCell;

/// Cloned into every worker; the clones are the same limiters, tracer and
/// balancer.
#[derive(Clone, Default)]
pub struct Shared {
    pub(crate) limiters: Limiters,
    pub(crate) tracer: TracerCell,
    pub(crate) balancer: Balancer,
}
