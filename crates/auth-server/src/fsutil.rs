//! Files that hold secrets.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

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
