//! Files that hold secrets, written so that a crash never leaves half of one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Creates `path` (failing if it exists) readable and writable by its owner only.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// How a finished temporary file takes its final name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Publish {
    /// Replace whatever is there (rename).
    Replace,
    /// Fail with `AlreadyExists` if the name is taken (hard link), so two first starts
    /// racing cannot each believe their own key is the one on disk.
    CreateNew,
}

/// Writes `parts` to a private temporary file beside `path`, syncs it, then publishes it
/// under `path` in one step.
pub(crate) fn write_private(path: &Path, parts: &[&[u8]], publish: Publish) -> io::Result<()> {
    let tmp = temp_beside(path);
    let written = (|| {
        let mut out = create_private(&tmp)?;
        for part in parts {
            out.write_all(part)?;
        }
        out.sync_all()
    })();
    let published = written.and_then(|()| match publish {
        Publish::Replace => std::fs::rename(&tmp, path),
        Publish::CreateNew => std::fs::hard_link(&tmp, path),
    });
    // After a rename there is nothing left to remove; otherwise the temporary goes.
    let _ = std::fs::remove_file(&tmp);
    published
}

fn temp_beside(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replace_overwrites_and_create_new_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.pem");
        write_private(&path, &[b"one"], Publish::CreateNew).unwrap();
        let again = write_private(&path, &[b"two"], Publish::CreateNew);
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_private(&path, &[b"th", b"ree"], Publish::Replace).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
