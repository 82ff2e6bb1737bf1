//! How many credential checks may be under way at once (`hash_queue_depth`).
//!
//! A check hashes a password on one of as many hashing threads as there are cores, and
//! every check costs about as much (see [`PasswordVerifier`](super::PasswordVerifier)): a
//! storm of sign-ins beyond what the threads can hash would only queue, each waiting longer
//! than the last, holding its request and its connection. So at most `depth` checks wait for a
//! hashing slot or hold one; the next sign-in is answered 503 with `Retry-After` at once.
//!
//! The place is taken before the credential directory is asked anything, and with nothing
//! but the count: whether the queue is full says nothing about the login.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The gauge of the checks waiting for a hashing slot or hashing now.
const DEPTH_GAUGE: &str = "tokengate_password_hash_queue_depth";
/// The counter of the checks refused because the queue was full.
const REJECTED_COUNTER: &str = "tokengate_password_hash_rejected_total";

/// Seconds a refused client is asked to wait: at the default depth, about how long the
/// queue takes to turn over (32 checks per core, tens of milliseconds each).
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;

/// The credential checks under way, at most `depth`.
#[derive(Debug)]
pub(crate) struct CheckQueue {
    depth: usize,
    held: AtomicUsize,
}

/// A place in the [`CheckQueue`], given back when dropped (the check ended, or its request
/// went away).
#[derive(Debug)]
pub(crate) struct Place<'a> {
    queue: &'a CheckQueue,
}

impl CheckQueue {
    /// A queue of at most `depth` checks.
    pub(crate) fn new(depth: usize) -> Self {
        Self {
            depth,
            held: AtomicUsize::new(0),
        }
    }

    /// A place, or `None` when `depth` checks are under way. Counted and taken in one atomic
    /// step, before anything awaits: a burst of sign-ins arriving together cannot all see
    /// room and overshoot the depth.
    pub(crate) fn enter(&self) -> Option<Place<'_>> {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.depth).then_some(held + 1)
            });
        if taken.is_err() {
            metrics::counter!(REJECTED_COUNTER).increment(1);
            return None;
        }
        // Up and down rather than set: several gates in one process add up.
        metrics::gauge!(DEPTH_GAUGE).increment(1.0);
        Some(Place { queue: self })
    }

    /// How many checks hold a place now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.queue.held.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(DEPTH_GAUGE).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use metrics_util::MetricKind;

    use super::*;

    /// Attack: a burst of sign-ins at once, each checking for room before taking it, would
    /// all find room. Of 64 threads entering together a queue of two, exactly two get in.
    #[test]
    fn a_burst_gets_exactly_the_depth_and_no_more() {
        let queue = Arc::new(CheckQueue::new(2));
        let start = Arc::new(Barrier::new(64));
        let holding = Arc::new(Barrier::new(65));
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let (queue, start, holding) =
                    (Arc::clone(&queue), Arc::clone(&start), Arc::clone(&holding));
                std::thread::spawn(move || {
                    start.wait();
                    let place = queue.enter();
                    let admitted = place.is_some();
                    // Every place is held until every thread has tried.
                    holding.wait();
                    holding.wait();
                    drop(place);
                    admitted
                })
            })
            .collect();
        holding.wait();
        assert_eq!(queue.held(), 2);
        holding.wait();
        let admitted = threads
            .into_iter()
            .map(|thread| thread.join().is_ok_and(|admitted| admitted))
            .filter(|&admitted| admitted)
            .count();
        assert_eq!(admitted, 2);
        assert_eq!(queue.held(), 0);
        assert!(queue.enter().is_some(), "a place given back is free again");
    }

    /// The metrics recorded since the last snapshot (a snapshot takes the values and starts
    /// them again from zero): kind, name, how many labels, value.
    fn recorded(snapshotter: &Snapshotter) -> Vec<(MetricKind, String, usize, DebugValue)> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (kind, key) = key.into_parts();
                (kind, key.name().to_owned(), key.labels().count(), value)
            })
            .collect()
    }

    #[test]
    fn the_depth_and_the_refusals_are_recorded() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let queue = CheckQueue::new(1);
            let first = queue.enter();
            assert!(first.is_some());
            assert!(queue.enter().is_none());
            assert!(queue.enter().is_none());
            let mut seen = recorded(&snapshotter);
            seen.sort_by(|a, b| a.1.cmp(&b.1));
            assert_eq!(
                seen,
                [
                    (
                        MetricKind::Gauge,
                        DEPTH_GAUGE.to_owned(),
                        0,
                        DebugValue::Gauge(1.0.into())
                    ),
                    (
                        MetricKind::Counter,
                        REJECTED_COUNTER.to_owned(),
                        0,
                        DebugValue::Counter(2)
                    ),
                ]
            );
            drop(first);
            let seen = recorded(&snapshotter);
            let depth = seen.iter().find(|(_, name, ..)| name == DEPTH_GAUGE);
            assert_eq!(
                depth.map(|(.., value)| value),
                Some(&DebugValue::Gauge((-1.0).into())),
                "one down since the last snapshot"
            );
        });
    }
}
