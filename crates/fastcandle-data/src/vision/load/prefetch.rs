//! Batches made ahead: a producer thread builds the next batches (on the rayon pool) while the
//! training loop uses the current one, through a bounded channel.

use super::item::Pipeline;
use fastcandle_core::Batch;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::time::Duration;

type Item = fastcandle_core::Result<Batch>;

/// The batches of `plan` (lists of item indices), in order; batches whose every item was
/// skipped are left out.
pub(crate) enum Batches {
    /// Made ahead by a producer thread, at most `depth` waiting.
    Ahead(Receiver<Item>),
    /// Made on demand in the calling thread.
    OnDemand {
        pipeline: Arc<Pipeline>,
        plan: std::vec::IntoIter<Vec<usize>>,
    },
}

impl Batches {
    pub(crate) fn new(pipeline: Pipeline, plan: Vec<Vec<usize>>, depth: usize) -> Self {
        let pipeline = Arc::new(pipeline);
        if depth == 0 {
            return Batches::OnDemand {
                pipeline,
                plan: plan.into_iter(),
            };
        }
        let (tx, rx) = sync_channel(depth);
        let (fallback, fallback_plan) = (pipeline.clone(), plan.clone());
        let spawned = std::thread::Builder::new()
            .name("fastcandle-prefetch".into())
            .spawn(move || {
                for idxs in plan {
                    let batch = match pipeline.batch(&idxs) {
                        Ok(Some(b)) => Ok(b),
                        Ok(None) => continue,
                        Err(e) => Err(e.into_core("image batch")),
                    };
                    let failed = batch.is_err();
                    // A closed channel means the consumer stopped early: stop too.
                    if tx.send(batch).is_err() || failed {
                        break;
                    }
                }
            });
        match spawned {
            Ok(_) => Batches::Ahead(rx),
            // No thread to be had (out of resources): make the batches on demand instead.
            Err(_) => Batches::OnDemand {
                pipeline: fallback,
                plan: fallback_plan.into_iter(),
            },
        }
    }
}

impl Iterator for Batches {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        match self {
            Batches::OnDemand { pipeline, plan } => loop {
                let idxs = plan.next()?;
                match pipeline.batch(&idxs) {
                    Ok(Some(b)) => return Some(Ok(b)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e.into_core("image batch"))),
                }
            },
            Batches::Ahead(rx) => receive(rx),
        }
    }
}

/// The next batch. On a rayon worker (a training loop run with `run_in_pool`) the wait helps
/// the pool with the producer's work instead of blocking a worker that the work needs.
fn receive(rx: &Receiver<Item>) -> Option<Item> {
    if rayon::current_thread_index().is_none() {
        return rx.recv().ok();
    }
    loop {
        match rx.try_recv() {
            Ok(b) => return Some(b),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            continue;
        }
        match rx.recv_timeout(Duration::from_micros(500)) {
            Ok(b) => return Some(b),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}
