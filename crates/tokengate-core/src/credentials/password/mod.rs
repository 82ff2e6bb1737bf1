//! Argon2id password hashes, computed and checked off the async executor.
//!
//! A directory accepts a stored hash only when it is an Argon2id PHC string (version 19) with
//! parameters between the policy's minimum (m=19456 KiB, t=2, p=1, SPEC §5) and a maximum
//! (m=262144 KiB, t=10, p=16, m·t at most 1 GiB of block passes) that keeps one sign-in from
//! costing seconds. Any other hash never signs in: it is treated as an unknown login, after the
//! same work, and logged once with what to do (rehash it).
//!
//! Every verification takes the same time: that of the strongest accepted hash the verifier
//! has seen. An unknown login (or a refused hash) is checked against a dummy with those
//! parameters; a right or wrong password on a weaker accepted hash waits, without holding a
//! core but holding its hashing slot, until as long as a check at the strongest parameters
//! takes. How long that is comes from the last checks at them (a calibration when the
//! parameters are first met, then every unknown login and every strongest row), and every
//! check, the strongest ones included, then waits until one of those durations drawn at random
//! (for a weaker check, whose own time is shorter, the longer of two) has passed since its own
//! hashing started: so all times spread alike, and the time spent
//! queueing behind other sign-ins, which every check shares, is not taken out of the wait. So a
//! directory whose rows come from several libraries (a sign-up written in Python, say, with
//! m=64 MiB, t=3, p=4) does not tell by its timing which logins exist.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier as _, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

mod timing;

use timing::{hashers, on_hasher, wait, Job, Strongest};
#[cfg(test)]
use timing::{CEILING, SAMPLES};

/// The minimum parameters accepted, and those used to hash (OWASP: m=19456 KiB, t=2, p=1).
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// The maximum parameters accepted: beyond them one verification (and, as every verification
/// costs as much as the strongest hash seen, every sign-in) would take seconds.
const MAX_MEMORY_KIB: u32 = 262_144;
const MAX_ITERATIONS: u32 = 10;
const MAX_PARALLELISM: u32 = 16;
const MAX_BLOCK_PASSES: u64 = 1 << 20;

/// The histogram of how long a check waits for a hashing slot, in seconds.
const WAIT_HISTOGRAM: &str = "tokengate_password_hash_wait_seconds";

/// How many refused hashes are remembered as logged before the memory starts again.
const LOGGED_ROWS: usize = 4_096;

/// A password could not be hashed, a stored hash is not an acceptable Argon2id PHC string, or
/// a directory entry is refused for another reason (a scope that is not one scope token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PasswordError(String);

impl PasswordError {
    /// An entry of a credential directory refused, saying why.
    pub(in crate::credentials) fn refused(why: String) -> Self {
        Self(why)
    }
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| PasswordError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password as an Argon2id PHC string (m=19456 KiB, t=2, p=1, random salt).
///
/// This takes tens of milliseconds: call it at start-up or from a blocking task.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError(e.to_string()))?;
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError(e.to_string()))?;
    Ok(hash.to_string())
}

/// What one verification with `params` costs, in Argon2 block passes (the lanes of `p` are
/// filled one after the other, so `p` adds no work).
fn block_passes(params: &Params) -> u64 {
    u64::from(params.m_cost()) * u64::from(params.t_cost())
}

/// The parameters that set the cost of a check (the output length, key and data do not).
fn cost(params: &Params) -> (u32, u32, u32) {
    (params.m_cost(), params.t_cost(), params.p_cost())
}

/// The parameters of `phc` when it is an Argon2id hash within the policy; why not otherwise.
pub(crate) fn check_phc(phc: &str) -> Result<Params, PasswordError> {
    let hash = PasswordHash::new(phc)
        .map_err(|_| PasswordError("not a PHC string (store only Argon2id hashes)".into()))?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err(PasswordError(format!(
            "`{}` hashes are not accepted; use Argon2id",
            hash.algorithm
        )));
    }
    if hash.version.is_some_and(|version| version != 0x13) {
        return Err(PasswordError(
            "Argon2id version 16 is not accepted; use version 19".into(),
        ));
    }
    if hash.hash.is_none() {
        return Err(PasswordError("the PHC string holds no hash".into()));
    }
    // A salt Argon2 cannot use would fail the check before any work: quicker than every
    // other row, which would tell the row apart.
    let mut salt = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = hash
        .salt
        .and_then(|salt_text| salt_text.decode_b64(&mut salt).ok())
        .map_or(0, <[u8]>::len);
    if salt_bytes < argon2::MIN_SALT_LEN {
        return Err(PasswordError(format!(
            "the salt must be base64 of at least {} bytes",
            argon2::MIN_SALT_LEN
        )));
    }
    let params = Params::try_from(&hash).map_err(|e| PasswordError(e.to_string()))?;
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m < MEMORY_KIB || t < ITERATIONS || p < PARALLELISM {
        return Err(PasswordError(format!(
            "Argon2id parameters m={m}, t={t}, p={p} are weaker than m={MEMORY_KIB}, t={ITERATIONS}, p={PARALLELISM}"
        )));
    }
    if m > MAX_MEMORY_KIB
        || t > MAX_ITERATIONS
        || p > MAX_PARALLELISM
        || block_passes(&params) > MAX_BLOCK_PASSES
    {
        return Err(PasswordError(format!(
            "Argon2id parameters m={m}, t={t}, p={p} are above the maximum verified \
             (m={MAX_MEMORY_KIB}, t={MAX_ITERATIONS}, p={MAX_PARALLELISM}, m·t ≤ {MAX_BLOCK_PASSES})"
        )));
    }
    Ok(params)
}

/// Argon2id work of `params` over `password` and a throw-away salt: what checking a hash with
/// these parameters costs, without a hash to check. (The password is hashed as a real check
/// hashes it, so a long one costs the dummy as much.)
fn burn(params: &Params, password: &[u8]) -> bool {
    // The output length of the row the parameters came from is not ours: a 16- or 64-byte
    // hash would make a 32-byte output an error before any work.
    let Ok(params) = Params::new(params.m_cost(), params.t_cost(), params.p_cost(), None) else {
        return false;
    };
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, b"tokengate: no salt", &mut out)
        .is_ok()
}

/// Verifies passwords on low-priority hashing threads, at most as many at once as there are
/// cores, so a burst of sign-ins neither stalls the executor nor eats every core. Every
/// verification costs what the strongest accepted hash seen so far costs (see the module).
/// Clones share what they have seen.
#[derive(Debug, Clone)]
pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
    seen: Arc<Seen>,
}

/// What a verifier has met: the strongest accepted parameters, and the refused hashes already
/// logged (by a digest, never the hash itself).
#[derive(Debug)]
struct Seen {
    strongest: Mutex<Strongest>,
    logged: Mutex<HashSet<u64>>,
}

impl Default for PasswordVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The policy's minimum, the cost every verification has at least.
fn minimum() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or(Params::DEFAULT)
}

impl PasswordVerifier {
    /// A verifier sized to the machine's cores. A check at the minimum parameters is measured
    /// at once, in the background, so the first sign-in already has a time to wait for.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let verifier = Self {
            permits: Arc::new(Semaphore::new(cores)),
            seen: Arc::new(Seen {
                strongest: Mutex::new(Strongest {
                    params: minimum(),
                    samples: VecDeque::new(),
                }),
                logged: Mutex::new(HashSet::new()),
            }),
        };
        verifier.calibrate(minimum());
        verifier
    }

    /// Makes every later verification cost at least what checking `phc` costs, as a directory
    /// does for each hash it holds before the first sign-in. A refused hash changes nothing.
    pub fn expect(&self, phc: &str) {
        if let Ok(params) = check_phc(phc) {
            self.saw(&params);
        }
    }

    /// The Argon2id parameters every verification now costs: memory in KiB, passes, lanes.
    pub fn parameters(&self) -> (u32, u32, u32) {
        let params = self.saw(&minimum()).0;
        (params.m_cost(), params.t_cost(), params.p_cost())
    }

    fn strongest(&self) -> std::sync::MutexGuard<'_, Strongest> {
        self.seen
            .strongest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises the cost of every verification to that of `params`, when they cost more (and
    /// measures a check at them in the background); the parameters every verification is held
    /// to after it, and whether a check at them has been measured.
    fn saw(&self, params: &Params) -> (Params, bool) {
        let (strongest, raised) = {
            let mut strongest = self.strongest();
            let raised = block_passes(params) > block_passes(&strongest.params);
            if raised {
                strongest.raise(params);
            }
            (
                (strongest.params.clone(), !strongest.samples.is_empty()),
                raised,
            )
        };
        if raised {
            self.calibrate(params.clone());
        }
        strongest
    }

    /// Records that a check at `params` took `took`, when they are the strongest.
    fn measured(&self, params: &Params, took: Duration) {
        let mut strongest = self.strongest();
        if cost(&strongest.params) == cost(params) {
            strongest.record(took);
        }
    }

    /// Measures a check at `params` on a hashing thread, without waiting for it.
    fn calibrate(&self, params: Params) {
        let verifier = self.clone();
        let job: Job = Box::new(move || {
            let started = Instant::now();
            if burn(&params, b"tokengate: nobody's password") {
                verifier.measured(&params, started.elapsed());
            }
        });
        let _ = hashers()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
    }

    /// Logs a refused hash the first time it is met.
    fn refused(&self, phc: &str, why: &PasswordError) {
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        phc.hash(&mut digest);
        let mut logged = self
            .seen
            .logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if logged.len() >= LOGGED_ROWS {
            logged.clear();
        }
        if logged.insert(digest.finish()) {
            tracing::warn!(
                target: "tokengate",
                reason = %why,
                "a stored password hash is refused: its user (or key) cannot sign in until the \
                 hash is written again as Argon2id, m=19456 KiB, t=2, p=1 or stronger \
                 (for example by `hash_password` at the next sign-in the application checks itself)"
            );
        }
    }

    /// Whether `password` matches `phc`; with `phc = None` (unknown login), or a hash the policy
    /// refuses, the same work is done against a dummy and the answer is `false`.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        // The slot is held until the wait ends, as a check at the strongest parameters holds it
        // while hashing: how many other sign-ins a check holds up does not tell its row either.
        let asked = Instant::now();
        let Ok(slot) = Arc::clone(&self.permits).acquire_owned().await else {
            return false;
        };
        metrics::histogram!(WAIT_HISTOGRAM).record(asked.elapsed().as_secs_f64());
        let accepted = match phc.map(|phc| (phc, check_phc(phc))) {
            Some((phc, Ok(params))) => Some((phc.to_owned(), params)),
            Some((phc, Err(why))) => {
                self.refused(phc, &why);
                None
            }
            None => None,
        };
        let (target, measured) =
            self.saw(accepted.as_ref().map_or(&minimum(), |(_, params)| params));
        let password = password.to_owned();
        let outcome = on_hasher(move || {
            // The slot goes with the work: a check whose request went away holds it until its
            // hashing ends, so that checks their clients abandon cannot pile work up behind
            // the hashing threads while new ones take their slots.
            let slot = slot;
            let started = Instant::now();
            let (matched, strongest) = match accepted {
                None => (false, burn(&target, password.as_bytes())),
                Some((phc, params)) => {
                    let matched = PasswordHash::new(&phc).is_ok_and(|hash| {
                        Argon2::default()
                            .verify_password(password.as_bytes(), &hash)
                            .is_ok()
                    });
                    (matched, cost(&params) == cost(&target))
                }
            };
            let took = started.elapsed();
            let sample = if strongest {
                Some(took)
            } else if measured {
                None
            } else {
                // Nothing measured at the strongest parameters yet (the calibration is still
                // queued): measure them here, once.
                let again = Instant::now();
                burn(&target, password.as_bytes()).then(|| again.elapsed())
            };
            (
                matched,
                started,
                strongest,
                sample.map(|took| (target, took)),
                slot,
            )
        })
        .await;
        let Some((matched, hashing, strongest, sample, _slot)) = outcome else {
            return false;
        };
        if let Some((params, took)) = sample {
            self.measured(&params, took);
        }
        // Every check then waits until a drawn duration has passed since its hashing started.
        // A check at the strongest parameters ends at the later of its own time and one draw;
        // a weaker one, whose own time is shorter, at the later of two draws: as its own time
        // is one more such duration, both end as the longer of two, and spread alike. The cost
        // of waking from the wait is shared too.
        let drawn = self.strongest().wait(strongest);
        if let Some(rest) = drawn.and_then(|pad| pad.checked_sub(hashing.elapsed())) {
            wait(rest).await;
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PHC string of `password` made with any algorithm and parameters, as another library
    /// would write it.
    fn foreign(
        password: &str,
        algorithm: Algorithm,
        version: Version,
        m: u32,
        t: u32,
        p: u32,
    ) -> String {
        let params = Params::new(m, t, p, None).unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        Argon2::new(algorithm, version, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let phc = hash_password("pw").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(check_phc(&phc).map(|p| block_passes(&p)), Ok(19_456 * 2));
    }

    #[test]
    fn plaintext_weak_foreign_and_extreme_hashes_are_refused() {
        assert!(check_phc("hunter2").is_err());
        assert!(check_phc(
            "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
        )
        .is_err());
        for (algorithm, version, m, t, p) in [
            (Algorithm::Argon2i, Version::V0x13, 1_024, 2, 1),
            (Algorithm::Argon2i, Version::V0x13, 65_536, 3, 4),
            (Algorithm::Argon2d, Version::V0x13, 65_536, 3, 4),
            (Algorithm::Argon2id, Version::V0x10, 19_456, 2, 1),
            (Algorithm::Argon2id, Version::V0x13, 19_456, 1, 1),
        ] {
            let phc = foreign("pw", algorithm, version, m, t, p);
            assert!(check_phc(&phc).is_err(), "{phc}");
        }
        // Above the maximum, without computing it: only the parameters are read.
        let huge = "$argon2id$v=19$m=1048576,t=2,p=1$c2l4dGVlbiBieXRlIHNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert!(check_phc(huge).unwrap_err().0.contains("maximum"));
        // argon2-cffi's defaults are within the policy.
        let python = foreign("pw", Algorithm::Argon2id, Version::V0x13, 65_536, 3, 4);
        assert_eq!(check_phc(&python).map(|p| block_passes(&p)), Ok(65_536 * 3));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_login_is_false_after_the_same_work() {
        let verifier = PasswordVerifier::new();
        let phc = hash_password("right").unwrap_or_default();
        assert!(verifier.verify("right", Some(&phc)).await);
        assert!(!verifier.verify("wrong", Some(&phc)).await);
        assert!(!verifier.verify("right", None).await);
    }

    /// Attack: a row hashed with argon2i at m=1 MiB signed in, and a row with another
    /// library's stronger defaults made a wrong password 5.8× slower than an unknown login.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_refused_hash_never_signs_in_and_the_strongest_sets_every_cost() {
        let verifier = PasswordVerifier::new();
        let weak = foreign("right", Algorithm::Argon2i, Version::V0x13, 1_024, 2, 1);
        assert!(!verifier.verify("right", Some(&weak)).await);
        // Nothing refused raises the cost.
        assert_eq!(verifier.saw(&minimum()).0, minimum());

        let python = foreign("right", Algorithm::Argon2id, Version::V0x13, 65_536, 3, 4);
        assert!(verifier.verify("right", Some(&python)).await);
        let (strongest, measured) = verifier.saw(&minimum());
        assert_eq!(block_passes(&strongest), 65_536 * 3);
        // A check at the strongest parameters was measured: weaker ones wait as long.
        assert!(measured);
        assert_eq!(verifier.parameters(), (65_536, 3, 4));
        // A clone shares what was seen.
        assert_eq!(verifier.clone().saw(&minimum()).0, strongest);
        assert!(
            verifier
                .verify("right", Some(&hash_password("right").unwrap()))
                .await
        );
    }

    #[test]
    fn a_directory_can_announce_its_hashes() {
        let verifier = PasswordVerifier::new();
        verifier.expect("not a hash");
        assert_eq!(verifier.saw(&minimum()).0, minimum());
        verifier.expect(&foreign(
            "x",
            Algorithm::Argon2id,
            Version::V0x13,
            32_768,
            2,
            1,
        ));
        assert_eq!(block_passes(&verifier.saw(&minimum()).0), 65_536);
    }

    /// Found in review: parameters taken from a hash with a 16- or 64-byte output made the
    /// dummy check fail before any work, so an unknown login was the quick one.
    #[test]
    fn the_dummy_check_works_whatever_output_length_the_strongest_hash_has() {
        for length in [16, 32, 64] {
            let params = Params::new(MEMORY_KIB, ITERATIONS, 1, Some(length)).unwrap();
            assert!(burn(&params, b"pw"), "{length}");
        }
    }

    fn strongest(samples: &[u64]) -> Strongest {
        Strongest {
            params: minimum(),
            samples: samples
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        }
    }

    /// Found in review: one check that stalled (a busy machine, a paused VM) moved the time
    /// every weaker check waits for without bound. A sample counts as at most twice the median,
    /// and never beyond the ceiling.
    #[test]
    fn a_stalled_check_moves_the_wait_a_little() {
        let ms = Duration::from_millis;
        let mut timing = strongest(&[40, 42, 41]);
        timing.record(ms(9_000));
        assert_eq!(timing.samples.back(), Some(&ms(82)));
        let mut first = strongest(&[]);
        first.record(ms(60_000));
        assert_eq!(first.samples.back(), Some(&CEILING));
        let mut full = strongest(&[40; SAMPLES]);
        full.record(ms(41));
        assert_eq!(full.samples.len(), SAMPLES);
        assert_eq!(full.samples.back(), Some(&ms(41)));
    }

    /// Found in review: weaker checks all ended at one average while the strongest ones
    /// spread around it, so their spread told them apart. A weaker check now waits for one of
    /// the recent durations, drawn at random.
    #[test]
    fn the_wait_is_drawn_from_the_recent_checks() {
        let timing = strongest(&[40, 45, 50, 55]);
        let drawn: HashSet<Duration> = (0..200).filter_map(|_| timing.draw()).collect();
        assert_eq!(drawn, timing.samples.iter().copied().collect());
        assert_eq!(strongest(&[]).draw(), None);
    }

    /// Found in review: a check at the strongest parameters ended at the later of its own
    /// time and a draw, a weaker one at the draw alone, so unknown logins came out a little
    /// slower. A weaker check now waits for the longer of two draws: with recent checks of
    /// 100 and 400 ms, it waits 400 ms three times in four, as a strongest check whose own
    /// time is one of them ends at 400 ms three times in four.
    #[test]
    fn a_weaker_check_waits_for_the_longer_of_two_draws() {
        let timing = strongest(&[100, 400]);
        let long = |at_strongest| {
            (0..400)
                .filter(|_| timing.wait(at_strongest) == Some(Duration::from_millis(400)))
                .count()
        };
        // Three in four (300 ± 9) against one in two (200 ± 10): apart by more than five
        // deviations each side of 250.
        let (weaker, at_strongest) = (long(false), long(true));
        assert!(weaker > 250, "{weaker}");
        assert!(at_strongest < 250, "{at_strongest}");
    }

    #[test]
    fn raised_parameters_scale_the_samples() {
        let mut timing = strongest(&[40]);
        let strong = Params::new(MEMORY_KIB * 3, ITERATIONS, 1, None).unwrap();
        timing.raise(&strong);
        assert_eq!(timing.samples, [Duration::from_millis(120)]);
        assert_eq!(timing.params, strong);
    }

    /// Found in review: a weaker check waited until the strongest would have ended counted
    /// from when it asked for a hashing slot, so the time spent queueing behind a burst of
    /// sign-ins, which the strongest checks also spend, came out of its wait. The wait now
    /// counts from when its hashing starts: however long it queued, it lasts at least as long
    /// after that as a check at the strongest parameters.
    #[tokio::test(flavor = "multi_thread")]
    async fn queueing_does_not_shorten_the_wait() {
        let verifier = PasswordVerifier::new();
        // The strongest checks take 300 ms (set, not measured: no calibration at these
        // parameters is queued to change it, and the one at the minimum does not count).
        *verifier.strongest() = Strongest {
            params: Params::new(32_768, 2, 1, None).unwrap(),
            samples: [Duration::from_millis(300)].into(),
        };
        let phc = hash_password("right").unwrap_or_default();
        let cores =
            u32::try_from(std::thread::available_parallelism().map_or(2, usize::from)).unwrap_or(2);
        let held = Arc::clone(&verifier.permits)
            .acquire_many_owned(cores)
            .await
            .unwrap();
        let started = Instant::now();
        let check = {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify("right", Some(&phc)).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
        assert!(check.await.unwrap());
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }

    /// A verifier whose checks at the minimum parameters (the strongest it has seen) take
    /// `pad`, with `slots` hashing slots; once its own calibration is in, so nothing changes it.
    async fn timed(pad: Duration, slots: usize) -> PasswordVerifier {
        let measured = PasswordVerifier::new();
        while !measured.saw(&minimum()).1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        measured.strongest().samples = [pad].into();
        PasswordVerifier {
            permits: Arc::new(Semaphore::new(slots)),
            seen: measured.seen,
        }
    }

    /// Found in review: a check on a weaker row gave its hashing slot back before its wait,
    /// so a burst of them held up other sign-ins less than strongest checks do. Two checks on
    /// one slot now take two waits.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_slot_is_held_until_the_wait_ends() {
        let verifier = timed(Duration::from_millis(300), 1).await;
        verifier.strongest().params = Params::new(32_768, 2, 1, None).unwrap();
        let phc = hash_password("right").unwrap_or_default();
        let started = Instant::now();
        let (one, other) = tokio::join!(
            verifier.verify("right", Some(&phc)),
            verifier.verify("wrong", Some(&phc))
        );
        assert!(one && !other);
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }

    /// Found in review: only weaker checks waited, so sleeping's own overhead and the
    /// ceiling were theirs alone. A check at the strongest parameters now waits for a drawn
    /// duration too when its hashing was quicker.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_strongest_checks_wait_for_a_drawn_duration_too() {
        let verifier = timed(Duration::from_millis(400), 2).await;
        let phc = hash_password("right").unwrap_or_default();
        for (password, phc) in [("right", Some(phc.as_str())), ("right", None)] {
            let started = Instant::now();
            let _ = verifier.verify(password, phc).await;
            // The own check's sample counts as at least half the median.
            assert!(
                started.elapsed() >= Duration::from_millis(200),
                "{:?}",
                started.elapsed()
            );
        }
    }

    /// Found in review: a row whose salt Argon2 refuses failed at once, the quickest answer
    /// of all. It is refused with the other unusable hashes.
    #[test]
    fn a_hash_with_an_unusable_salt_is_refused() {
        let good = hash_password("pw").unwrap_or_default();
        let (head, hash) = good.rsplit_once('$').unwrap();
        let (params, _) = head.rsplit_once('$').unwrap();
        for salt in ["c2FsdA", "c2Fs", "c2FsdA!!"] {
            let phc = format!("{params}${salt}${hash}");
            assert!(check_phc(&phc).is_err(), "{phc}");
        }
        assert!(check_phc(&good).is_ok());
    }

    /// Found in review: a check that failed early counted in full, and shortened the waits.
    #[test]
    fn a_quick_check_moves_the_wait_a_little() {
        let ms = Duration::from_millis;
        let mut timing = strongest(&[40, 42, 41]);
        timing.record(ms(1));
        assert_eq!(timing.samples.back(), Some(&Duration::from_micros(20_500)));
    }

    #[tokio::test]
    async fn a_refused_hash_is_logged_once() {
        let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&lines);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Another test's thread may have met the warning first, with no subscriber: what it
        // decided for the callsite is taken again now this one is set.
        tracing::callsite::rebuild_interest_cache();
        let verifier = PasswordVerifier::new();
        let weak = foreign("right", Algorithm::Argon2i, Version::V0x13, 1_024, 2, 1);
        let other = foreign("other", Algorithm::Argon2i, Version::V0x13, 1_024, 2, 1);
        for _ in 0..3 {
            assert!(!verifier.verify("right", Some(&weak)).await);
        }
        assert!(!verifier.verify("right", Some(&other)).await);
        let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("password hash is refused").count(),
            2,
            "{text}"
        );
        assert!(text.contains("argon2i"), "{text}");
        assert!(
            !text.contains(&weak[20..]),
            "the hash itself is never logged: {text}"
        );
    }

    #[test]
    fn the_wait_for_a_slot_is_recorded() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};

        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let verifier = PasswordVerifier::new();
        let phc = hash_password("right").unwrap_or_default();
        // The local recorder is this thread's, where the runtime runs the check and records.
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                assert!(verifier.verify("right", Some(&phc)).await);
                assert!(!verifier.verify("right", None).await);
            });
        });
        let waits: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == WAIT_HISTOGRAM)
            .map(|(key, _, _, value)| (key.key().labels().count(), value))
            .collect();
        assert!(
            matches!(&waits[..], [(0, DebugValue::Histogram(seconds))] if seconds.len() == 2),
            "{waits:?}"
        );
    }

    /// Attack: clients that send a sign-in and go away at once. A check whose request was
    /// dropped gave its slot back while its hashing was still queued, so new checks took the
    /// slots and work piled up behind the hashing threads beyond any bound. The slot now goes
    /// back when the hashing ends.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_abandoned_check_holds_its_slot_until_its_hashing_ends() {
        // Every hashing thread busy with a job of this test's, until it lets them go.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let (started, running) = std::sync::mpsc::channel::<()>();
        let release = Arc::new(std::sync::Barrier::new(cores + 1));
        for _ in 0..cores {
            let (started, release) = (started.clone(), Arc::clone(&release));
            let job: Job = Box::new(move || {
                let _ = started.send(());
                release.wait();
            });
            hashers().lock().unwrap().send(job).unwrap();
        }
        for _ in 0..cores {
            running.recv().unwrap();
        }
        let verifier = PasswordVerifier {
            permits: Arc::new(Semaphore::new(1)),
            seen: PasswordVerifier::new().seen,
        };
        let check = {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify("right", None).await })
        };
        // Its slot taken, its hashing queued behind the busy threads: then its client goes.
        let deadline = Instant::now() + Duration::from_secs(20);
        while verifier.permits.available_permits() != 0 {
            assert!(Instant::now() < deadline, "the check never took its slot");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        check.abort();
        assert!(check.await.unwrap_err().is_cancelled());
        assert_eq!(verifier.permits.available_permits(), 0);
        release.wait();
        // Once its hashing has run, the slot is free again.
        while verifier.permits.available_permits() != 1 {
            assert!(Instant::now() < deadline, "the slot never came back");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
