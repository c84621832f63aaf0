//! First-start chores shared by `authd` and host applications: the signing key file and
//! the users file, created when absent.

use std::path::{Path, PathBuf};

use auth_tokens::{Algorithm, SigningKey, VerifyingKey};

use crate::users::{UsersError, create_with_admin};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or writing the file failed.
    #[error("cannot {action} key file {}", path.display())]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold a usable key.
    #[error("key file {}: unusable key", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: auth_tokens::Error,
    },
}

/// Loads the signing key at `path`, or generates one there (mode 0600) if the file does
/// not exist: RSA-2048 for RS256/RS384/RS512 (RS512 when `alg` is `None`), P-256 for ES256,
/// Ed25519 for EdDSA. Returns the key and whether it was generated.
///
/// # Errors
/// [`KeyFileError`] for an unreadable file, an unusable key, or a failed write.
pub fn load_or_generate_key(
    path: &Path,
    alg: Option<Algorithm>,
) -> Result<(SigningKey, bool), KeyFileError> {
    let key_err = |source| KeyFileError::Key {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(pem) => {
            warn_if_shared(path);
            Ok((SigningKey::from_pem(&pem, alg).map_err(key_err)?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(alg.unwrap_or(Algorithm::RS512)).map_err(key_err)?;
            let io_err = |source| KeyFileError::Io {
                action: "write",
                path: path.to_owned(),
                source,
            };
            crate::fsutil::write_private(
                path,
                &[key.to_pkcs8_pem().as_bytes()],
                crate::fsutil::Publish::CreateNew,
            )
            .map_err(io_err)?;
            Ok((key, true))
        }
        Err(source) => Err(KeyFileError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Splits a `--verify-key` value `[ALG:]FILE` into the algorithm the old key signed with
/// (RS256, RS384, RS512, ES256 or EdDSA) and the file. Without a prefix an RSA key is taken
/// to have signed RS512 (the default); the current `--alg` does not apply to old keys, since
/// a rotation may change the algorithm.
pub fn verify_key_spec(spec: &Path) -> (Option<Algorithm>, &Path) {
    if let Some((prefix, file)) = spec.to_str().and_then(|s| s.split_once(':'))
        && let Ok(alg) = prefix.parse::<Algorithm>()
    {
        return (Some(alg), Path::new(file));
    }
    (None, spec)
}

/// Loads a verify-only key (an old signing key, or an RSA public key). An RSA key verifies
/// with `alg` when that is an RSA algorithm, else RS512.
///
/// # Errors
/// [`KeyFileError`].
pub fn load_verify_key(path: &Path, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyFileError> {
    let pem = std::fs::read(path).map_err(|source| KeyFileError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    VerifyingKey::from_pem(&pem, alg)
        .or_else(|first| match alg {
            Some(_) => VerifyingKey::from_pem(&pem, None).map_err(|_| first),
            None => Err(first),
        })
        .map_err(|source| KeyFileError::Key {
            path: path.to_owned(),
            source,
        })
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let shared = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    if shared {
        tracing::warn!(path = %path.display(), "the signing key file is readable by others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path) {}

/// Creates the users file with `admin` and a random password when it does not exist;
/// returns that password (show it once), or `None` if the file was already there.
///
/// # Errors
/// [`UsersError::Write`] (or [`UsersError::Read`] if the file's presence cannot be
/// checked).
pub fn ensure_users_file(path: &Path) -> Result<Option<String>, UsersError> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_with_admin(path).map(Some),
        Err(source) => Err(UsersError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_key_spec_reads_an_optional_algorithm_prefix() {
        assert_eq!(
            verify_key_spec(Path::new("RS256:old.pem")),
            (Some(Algorithm::RS256), Path::new("old.pem"))
        );
        assert_eq!(
            verify_key_spec(Path::new("EdDSA:/keys/a:b.pem")),
            (Some(Algorithm::EdDSA), Path::new("/keys/a:b.pem"))
        );
        assert_eq!(
            verify_key_spec(Path::new("/keys/old.pem")),
            (None, Path::new("/keys/old.pem"))
        );
        assert_eq!(
            verify_key_spec(Path::new("c:old.pem")),
            (None, Path::new("c:old.pem")),
            "an unknown prefix is part of the file name"
        );
    }
}
