//! How long checks at the strongest parameters take lately, and the threads that hash.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Params;

use super::block_passes;

/// How many recent durations of checks at the strongest parameters are kept.
pub(super) const SAMPLES: usize = 32;

/// The longest a check is ever padded to: the maximum parameters take well under it.
pub(super) const CEILING: Duration = Duration::from_secs(4);

/// The strongest accepted parameters, and how long checks at them took lately.
#[derive(Debug)]
pub(super) struct Strongest {
    pub(super) params: Params,
    /// The last [`SAMPLES`] durations, oldest first; empty until one is measured.
    pub(super) samples: VecDeque<Duration>,
}

impl Strongest {
    /// Records that a check took `took`. A sample more than twice the median (a check that
    /// stalled on a busy machine) counts as twice the median, and none beyond [`CEILING`]: one
    /// slow check must not make every later sign-in slow. A sample under half the median (a
    /// check that failed early) counts as half of it: quick ones must not shorten the wait.
    pub(super) fn record(&mut self, took: Duration) {
        let (low, high) = self.median().map_or((Duration::ZERO, CEILING), |median| {
            ((median / 2).min(CEILING), (median * 2).min(CEILING))
        });
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(took.clamp(low, high));
    }

    pub(super) fn median(&self) -> Option<Duration> {
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// Raises the parameters to `params`: the samples are scaled by their cost, until checks
    /// at the new ones are measured.
    pub(super) fn raise(&mut self, params: &Params) {
        let (old, new) = (block_passes(&self.params).max(1), block_passes(params));
        for sample in &mut self.samples {
            let nanos = sample.as_nanos() * u128::from(new) / u128::from(old);
            *sample = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).min(CEILING);
        }
        self.params = params.clone();
    }

    /// How long after its hashing started a check ends (see [`PasswordVerifier::verify`]):
    /// one draw for a check at the strongest parameters, the longer of two for another.
    pub(super) fn wait(&self, at_strongest: bool) -> Option<Duration> {
        if at_strongest {
            self.draw()
        } else {
            self.draw().max(self.draw())
        }
    }

    /// One of the recent durations, drawn at random; `None` before any is measured.
    pub(super) fn draw(&self) -> Option<Duration> {
        let mut bytes = [0u8; 4];
        let at = getrandom::fill(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes));
        let len = u32::try_from(self.samples.len()).unwrap_or(u32::MAX);
        self.samples
            .get(usize::try_from(at.checked_rem(len)?).unwrap_or(0))
            .copied()
    }
}

/// Waits `duration` where the runtime has timers (a runtime without them does not wait).
pub(super) async fn wait(duration: Duration) {
    let sleep = std::panic::catch_unwind(|| tokio::time::sleep(duration)).ok();
    if let Some(sleep) = sleep {
        sleep.await;
    }
}

pub(super) type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: one per core, in the lowest scheduling class the OS offers (see
/// [`lowest_priority`]), so that a storm of sign-ins takes only the CPU that serving requests
/// leaves over, and guarded requests keep their latency. Started on first use.
pub(super) fn hashers() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static HASHERS: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for index in 0..cores {
            let receiver = Arc::clone(&receiver);
            let _ = std::thread::Builder::new()
                .name(format!("tokengate-hash-{index}"))
                .spawn(move || {
                    lowest_priority();
                    loop {
                        let job = {
                            let receiver = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            receiver.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
        }
        std::sync::Mutex::new(sender)
    })
}

/// Moves the calling thread to the lowest scheduling class there is. On Linux that is
/// `SCHED_IDLE`: the thread runs only when no other thread wants the core, and a request's
/// thread that wakes takes the core from it at once (at nice 19 it still has a share of the
/// core and waits out its time slice; the sign-in storm measured guarded p99 3 to 4.6 times
/// idle). Elsewhere, or where the kernel refuses, nice 19 (or the nearest); where even that is
/// refused, hashing runs at normal priority: slower requests during a storm, nothing wrong.
fn lowest_priority() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let idle = thread_priority::set_thread_priority_and_policy(
            thread_priority::thread_native_id(),
            thread_priority::ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
        if idle.is_ok() {
            return;
        }
    }
    let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
}

/// Runs `work` on a hashing thread and awaits its result.
pub(super) async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    hashers()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .send(job)
        .ok()?;
    answer.await.ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Instant;

    use super::*;

    /// `SCHED_IDLE`, as `/proc` shows a thread's policy.
    const SCHED_IDLE: u32 = 5;

    /// The scheduling policy of each hashing thread of this process: field 41 of
    /// `/proc/self/task/<tid>/stat`, for the tasks named `tokengate-hash-*` (the kernel keeps
    /// the first 15 bytes of a name).
    fn hasher_policies() -> Vec<u32> {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Vec::new();
        };
        tasks
            .filter_map(Result::ok)
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.starts_with("tokengate-hash"))
            })
            .filter_map(|task| {
                let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
                // The name in parentheses may hold spaces: fields are counted after it, from
                // field 3.
                let (_, fields) = stat.rsplit_once(')')?;
                fields.split_whitespace().nth(41 - 3)?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn the_hashing_threads_run_in_the_idle_class() {
        let _ = hashers();
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        // Each thread lowers itself as it starts: wait, up to a deadline, for all of them.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let policies = hasher_policies();
            if policies.len() == cores && policies.iter().all(|&policy| policy == SCHED_IDLE) {
                return;
            }
            assert!(Instant::now() < deadline, "policies: {policies:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
