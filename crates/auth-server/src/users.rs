//! The users file (TOML, argon2id PHC hashes) and password checks that neither reveal which
//! names exist nor let a login flood starve the async threads.
//!
//! ```toml
//! [users]
//! admin = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$..."
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

const HEADER: &str = "# authd users: NAME = argon2id PHC hash.\n\
# Add or change one with `authd user add NAME --users FILE` (password on stdin).\n\n";

/// What can go wrong reading, writing or checking users.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    /// The file could not be read.
    #[error("cannot read users file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write users file {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a users file.
    #[error("users file {} is not valid: expected a [users] table of NAME = \"$argon2id$...\"", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A stored hash is not an argon2id PHC string.
    #[error("user {name:?}: the stored hash is not an argon2id PHC string")]
    BadHash {
        /// Whose hash.
        name: String,
    },
    /// A user name that cannot be stored or used.
    #[error("invalid user name {0:?}: use 1 to 256 printable characters")]
    BadName(String),
    /// Hashing failed (bad parameters, empty password).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Every password-check slot stayed busy for too long (a login flood).
    #[error("too many password checks in progress")]
    Busy,
    /// The blocking task running argon2 died.
    #[error("password check task failed")]
    Task(#[source] tokio::task::JoinError),
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: BTreeMap<String, String>,
}

/// The known users and their password hashes, with a bounded pool for checking passwords.
///
/// Cheap to clone. Every check, for a known user or not, runs one argon2 verification with
/// the same cost, so the answer time does not tell which names exist.
#[derive(Clone)]
pub struct Users {
    inner: Arc<Inner>,
}

struct Inner {
    hashes: BTreeMap<String, String>,
    dummy: String,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("count", &self.inner.hashes.len())
            .field("hashes", &"<redacted>")
            .finish()
    }
}

impl Users {
    /// Users from `name -> PHC hash` pairs, checking at most `concurrency` passwords at once
    /// (a check waits up to 10 s for a slot, then fails with [`UsersError::Busy`]).
    ///
    /// # Errors
    /// [`UsersError::BadHash`] if a hash is not argon2id; [`UsersError::BadName`].
    pub fn new(
        hashes: impl IntoIterator<Item = (String, String)>,
        concurrency: usize,
    ) -> Result<Self, UsersError> {
        let hashes: BTreeMap<String, String> = hashes.into_iter().collect();
        let mut params = None;
        for (name, hash) in &hashes {
            check_name(name)?;
            let parsed =
                parse_hash(hash).ok_or_else(|| UsersError::BadHash { name: name.clone() })?;
            if params.is_none() {
                params = Params::try_from(&parsed).ok();
            }
        }
        // The dummy costs what a real check costs: users written by `authd user add` all
        // share one parameter set, so the first user's parameters stand for all of them.
        let dummy = hash_password_with(&random_password(), params.unwrap_or_default())?;
        Ok(Users {
            inner: Arc::new(Inner {
                hashes,
                dummy,
                slots: Arc::new(Semaphore::new(concurrency.max(1))),
                wait: Duration::from_secs(10),
            }),
        })
    }

    /// Loads a users file.
    ///
    /// # Errors
    /// [`UsersError::Read`], [`UsersError::Parse`], [`UsersError::BadHash`].
    pub fn load(path: &Path, concurrency: usize) -> Result<Self, UsersError> {
        Self::new(read_file(path)?.users, concurrency)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.inner.hashes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inner.hashes.is_empty()
    }

    /// Checks `password` for `name` off the async threads.
    ///
    /// # Errors
    /// [`UsersError::Busy`] if no slot freed up in time; [`UsersError::Task`].
    pub async fn verify(&self, name: &str, password: &str) -> Result<bool, UsersError> {
        let slots = Arc::clone(&self.inner.slots);
        let slot = tokio::time::timeout(self.inner.wait, slots.acquire_owned())
            .await
            .map_err(|_| UsersError::Busy)?
            .map_err(|_| UsersError::Busy)?;
        let inner = Arc::clone(&self.inner);
        let name = name.to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            // Held by the hashing thread itself: a client that hangs up does not free the
            // slot while argon2 still runs.
            let _slot = slot;
            let (hash, known) = match inner.hashes.get(&name) {
                Some(hash) => (hash.as_str(), true),
                None => (inner.dummy.as_str(), false),
            };
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), hash)
                .is_ok();
            ok && known
        })
        .await
        .map_err(UsersError::Task)
    }
}

/// Hashes `password` with argon2id and the default parameters (what `authd user add`
/// writes).
///
/// # Errors
/// [`UsersError::Hash`].
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    hash_password_with(password, Params::default())
}

/// Hashes `password` with argon2id and the given parameters (tests use cheap ones).
///
/// # Errors
/// [`UsersError::Hash`].
pub fn hash_password_with(password: &str, params: Params) -> Result<String, UsersError> {
    Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

/// Adds `name` (or replaces its password) in the users file at `path`, creating the file
/// (mode 0600) if missing. Returns whether the user already existed.
///
/// # Errors
/// [`UsersError::Read`]/[`UsersError::Parse`] for an existing unreadable file,
/// [`UsersError::BadName`], [`UsersError::Hash`] (also for an empty password),
/// [`UsersError::Write`].
pub fn add_user(path: &Path, name: &str, password: &str) -> Result<bool, UsersError> {
    check_name(name)?;
    if password.is_empty() {
        return Err(UsersError::Hash("the password is empty".to_owned()));
    }
    let mut file = match std::fs::metadata(path) {
        Ok(_) => read_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => UsersFile::default(),
        Err(source) => {
            return Err(UsersError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let existed = file
        .users
        .insert(name.to_owned(), hash_password(password)?)
        .is_some();
    write_file(path, &file)?;
    Ok(existed)
}

/// A random password of 24 URL-safe characters (144 bits).
pub(crate) fn random_password() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 18];
    // Only fails if the OS entropy source is gone; a predictable password is worse than
    // stopping.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system CSPRNG failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a users file holding `admin` with a random password, which is returned.
pub(crate) fn create_with_admin(path: &Path) -> Result<String, UsersError> {
    let password = random_password();
    let mut file = UsersFile::default();
    file.users
        .insert("admin".to_owned(), hash_password(&password)?);
    write_file(path, &file)?;
    Ok(password)
}

fn check_name(name: &str) -> Result<(), UsersError> {
    let ok = !name.is_empty() && name.len() <= 256 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(UsersError::BadName(name.to_owned()))
    }
}

fn parse_hash(hash: &str) -> Option<PasswordHash> {
    PasswordHash::new(hash)
        .ok()
        .filter(|h| h.algorithm.as_str() == "argon2id" && h.salt.is_some() && h.hash.is_some())
}

fn read_file(path: &Path) -> Result<UsersFile, UsersError> {
    let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| UsersError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write_file(path: &Path, file: &UsersFile) -> Result<(), UsersError> {
    let err = |source| UsersError::Write {
        path: path.to_owned(),
        source,
    };
    let body = toml::to_string(file).map_err(|e| err(std::io::Error::other(e)))?;
    crate::fsutil::write_private(
        path,
        &[HEADER.as_bytes(), body.as_bytes()],
        crate::fsutil::Publish::Replace,
    )
    .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Params {
        Params::new(64, 1, 1, None).unwrap()
    }

    #[tokio::test]
    async fn known_user_with_right_password_only() {
        let hash = hash_password_with("pw", cheap()).unwrap();
        let users = Users::new([("alice".to_owned(), hash)], 2).unwrap();
        assert!(users.verify("alice", "pw").await.unwrap());
        assert!(!users.verify("alice", "nope").await.unwrap());
        assert!(!users.verify("bob", "pw").await.unwrap());
    }

    /// Unknown names are checked against the dummy hash (see `verify`), so their cost is
    /// the dummy's: it must use the same algorithm and parameters as the real hashes. (A
    /// timing assertion would be flaky on a shared machine; this is the structural fact.)
    #[test]
    fn the_dummy_hash_costs_what_a_user_hash_costs() {
        let params = Params::new(4 * 1024, 2, 1, None).unwrap();
        let alice = hash_password_with("pw", params).unwrap();
        let users = Users::new([("alice".to_owned(), alice.clone())], 1).unwrap();
        let dummy = PasswordHash::new(&users.inner.dummy).unwrap();
        let real = PasswordHash::new(&alice).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(
            Params::try_from(&dummy).unwrap(),
            Params::try_from(&real).unwrap()
        );
    }

    #[test]
    fn non_argon2id_hashes_are_refused() {
        let hash = Argon2::new(Algorithm::Argon2i, argon2::Version::V0x13, cheap())
            .hash_password(b"pw")
            .unwrap()
            .to_string();
        assert!(matches!(
            Users::new([("a".to_owned(), hash)], 1),
            Err(UsersError::BadHash { .. })
        ));
        assert!(matches!(
            Users::new([("a".to_owned(), "plain".to_owned())], 1),
            Err(UsersError::BadHash { .. })
        ));
    }
}
