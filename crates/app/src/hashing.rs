//! The working memory of password hashing, made once and reused.
//!
//! argon2id with the crate's recommended parameters fills 19 MiB per hash.
//! Allocated afresh for each hash (as `Argon2::hash_password` does), the
//! blocks land in the malloc arena of whichever blocking thread ran it,
//! and glibc keeps the freed blocks there: under steady sign-ups and logins
//! a node grew in 19 MiB steps to 720 MiB within two minutes (`just soak`,
//! 2026-12-06), and a burst of logins could take 19 MiB each at once. Here
//! a fixed number of buffers is made, one per hash that may run at a time
//! (as many as the machine has cores: more would only share them), and a
//! hash waits, without holding a thread, for a free one.

use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// The buffers, and a turn per buffer.
struct Memory {
    free: Mutex<Vec<Vec<Block>>>,
    turns: Arc<Semaphore>,
}

static MEMORY: LazyLock<Memory> = LazyLock::new(|| {
    let at_once = std::thread::available_parallelism().map_or(2, |n| n.get());
    Memory {
        free: Mutex::new(Vec::with_capacity(at_once)),
        turns: Arc::new(Semaphore::new(at_once)),
    }
});

/// Runs `work` on the blocking pool with a buffer of its own, once one is
/// free. The buffer and the turn are given back by the work itself, so a
/// caller that goes away meanwhile loses neither.
pub(crate) async fn with_memory<T: Send + 'static>(
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Option<T> {
    let turn = (MEMORY.turns.clone()).acquire_owned().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let taken = MEMORY.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut blocks =
            taken.unwrap_or_else(|| vec![Block::default(); Params::default().block_count()]);
        let done = work(&mut blocks);
        MEMORY
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(blocks);
        drop(turn);
        done
    })
    .await
    .ok()
}

/// The PHC string of `password` hashed with argon2id and the recommended
/// parameters, as `Argon2::default().hash_password` makes it.
pub(crate) fn hash(
    password: &[u8],
    salt: &SaltString,
    blocks: &mut [Block],
) -> argon2::password_hash::Result<String> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = salt.as_salt();
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        Ok(argon2.hash_password_into_with_memory(password, raw_salt, out, &mut *blocks)?)
    })?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`, with the algorithm,
/// version and parameters it names (compared in constant time).
pub(crate) fn verify(password: &[u8], hash: &str, blocks: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm);
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed))
    else {
        return false;
    };
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        // A hash made with more memory than the buffers hold (stronger
        // parameters, one day) is checked with memory of its own.
        let result = if params.block_count() <= blocks.len() {
            argon2.hash_password_into_with_memory(password, raw_salt, out, &mut *blocks)
        } else {
            argon2.hash_password_into(password, raw_salt, out)
        };
        Ok(result?)
    });
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn salt() -> SaltString {
        SaltString::encode_b64(b"sixteen bytes ok").unwrap()
    }

    #[test]
    fn hashes_are_the_ones_the_crate_makes_and_check_both_ways() {
        let mut blocks = vec![Block::default(); Params::default().block_count()];
        let made_here = hash(b"correct horse", &salt(), &mut blocks).unwrap();
        let by_the_crate = Argon2::default()
            .hash_password(b"correct horse", &salt())
            .unwrap()
            .to_string();
        assert_eq!(made_here, by_the_crate);
        let parsed = PasswordHash::new(&made_here).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(verify(b"correct horse", &by_the_crate, &mut blocks));
        assert!(!verify(b"wrong horse", &by_the_crate, &mut blocks));
        assert!(!verify(b"correct horse", "not a hash", &mut blocks));
    }

    #[test]
    fn a_hash_with_other_parameters_still_checks() {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"pw", &salt())
            .unwrap()
            .to_string();
        let mut small = vec![Block::default(); 16];
        assert!(verify(b"pw", &other, &mut small), "more memory than given");
        let mut blocks = vec![Block::default(); Params::default().block_count()];
        assert!(verify(b"pw", &other, &mut blocks));
        assert!(!verify(b"pW", &other, &mut blocks));
    }
}
