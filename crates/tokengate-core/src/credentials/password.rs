//! Argon2id password hashes, computed and checked off the async executor.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// The minimum parameters accepted, and those used to hash (OWASP: m=19456 KiB, t=2, p=1).
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A password could not be hashed, or a stored hash is not an acceptable Argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PasswordError(String);

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

/// Refuses anything but an Argon2id PHC string at least as strong as the minimum.
pub(crate) fn check_phc(phc: &str) -> Result<(), PasswordError> {
    let hash = PasswordHash::new(phc)
        .map_err(|_| PasswordError("not a PHC string (store only Argon2id hashes)".into()))?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err(PasswordError(format!(
            "`{}` hashes are not accepted; use Argon2id",
            hash.algorithm
        )));
    }
    let params = Params::try_from(&hash).map_err(|e| PasswordError(e.to_string()))?;
    if params.m_cost() < MEMORY_KIB || params.t_cost() < ITERATIONS || params.p_cost() < PARALLELISM
    {
        return Err(PasswordError(format!(
            "Argon2id parameters m={}, t={}, p={} are weaker than m={MEMORY_KIB}, t={ITERATIONS}, p={PARALLELISM}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok(())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // A hash of a random password nobody knows; only its cost matters.
        let mut password = [0u8; 24];
        let _ = getrandom::fill(&mut password);
        hash_password(&String::from_utf8_lossy(&password)).unwrap_or_default()
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: one per core, at the lowest scheduling priority (nice 19 on Linux), so
/// that a storm of sign-ins takes only the CPU that serving requests leaves over, and guarded
/// requests keep their latency. Started on first use.
fn hashers() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
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
                    // Where the platform refuses, hashing runs at normal priority.
                    let _ = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    );
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

/// Runs `work` on a hashing thread and awaits its result.
async fn on_hasher<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
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

/// Verifies passwords on low-priority hashing threads, at most as many at once as there are
/// cores, so a burst of sign-ins neither stalls the executor nor eats every core.
#[derive(Debug, Clone)]
pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
}

impl Default for PasswordVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordVerifier {
    /// A verifier sized to the machine's cores; also prepares the dummy hash.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        dummy_hash();
        Self {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Whether `password` matches `phc`; with `phc = None` (unknown login) the same work is
    /// done against a dummy hash and the answer is `false`.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash()).to_owned();
        let password = password.to_owned();
        let matched = on_hasher(move || {
            let Ok(hash) = PasswordHash::new(&phc) else {
                return false;
            };
            argon2().is_ok_and(|argon| argon.verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await
        .unwrap_or(false);
        known && matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let phc = hash_password("pw").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(check_phc(&phc), Ok(()));
    }

    #[test]
    fn plaintext_and_weak_hashes_are_refused() {
        assert!(check_phc("hunter2").is_err());
        assert!(check_phc(
            "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
        )
        .is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_login_is_false_after_the_same_work() {
        let verifier = PasswordVerifier::new();
        let phc = hash_password("right").unwrap_or_default();
        assert!(verifier.verify("right", Some(&phc)).await);
        assert!(!verifier.verify("wrong", Some(&phc)).await);
        assert!(!verifier.verify("right", None).await);
    }
}
