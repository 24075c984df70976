//! What the workers of one process share, made once at start: a rate limit
//! holds for the whole process, spans leave through one exporter, and the
//! workers on one port even out their connections and open together.
//! Settings say how each is set up; these are the running things.

use crate::policy::rate_limit::Limiters;
use crate::server::balance::Balancer;
use crate::server::readiness::Opening;
use crate::telemetry::traces::TracerCell;

/// Cloned into every worker; the clones are the same limiters, tracer,
/// balancer and opening. `Default` is for a process of one worker.
#[derive(Clone, Default)]
pub struct Shared {
    pub(crate) limiters: Limiters,
    pub(crate) tracer: TracerCell,
    pub(crate) balancer: Balancer,
    pub(crate) opening: Opening,
}

impl Shared {
    /// For a process of `workers` workers, each started with a clone: none
    /// serves until all have built their service.
    pub fn for_workers(workers: usize) -> Shared {
        Shared {
            opening: Opening::for_workers(workers),
            ..Shared::default()
        }
    }
}
