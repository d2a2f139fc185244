//! The wall clock behind a trait, so the driver never calls the system clock
//! directly and tests can shift it.

use std::time::{SystemTime, UNIX_EPOCH};

use chunkseq_l1::{ControlledL1, SharedEmbeddedL1};
use chunkseq_primitives::UnixMillis;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> UnixMillis;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        UnixMillis(ms)
    }
}

/// Runs an embedded L1 on the system clock: every 50 ms it produces the
/// blocks that are due. Abort the returned task to stop it.
pub fn drive_embedded_l1(l1: &SharedEmbeddedL1) -> tokio::task::JoinHandle<()> {
    let l1 = l1.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Err(e) = l1.advance_to(SystemClock.now()).await {
                tracing::warn!(target: "chunkseq::l1", error = %e, "embedded L1 failed to advance");
            }
        }
    })
}
