//! The one folder the mock reads files from: replay steps and the control
//! API's JSON and SSE readers take paths from whoever can reach the port,
//! so without this anything the mock's user can read would be readable.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// How to name a root, for every refusal that needs one.
const HOW: &str = "start the mock with a root: `root: dir` (Switchboard.Mock.start/1, \
                   or {Switchboard.Mock, root: dir} as a child spec) or `--root DIR`";

/// The canonical root, or none: then every file is refused.
#[derive(Debug, Clone, Default)]
pub struct FileRoot {
    root: Option<PathBuf>,
}

impl FileRoot {
    /// The folder `dir`, which must exist.
    pub fn new(dir: &Path) -> Result<FileRoot, String> {
        let root =
            std::fs::canonicalize(dir).map_err(|e| format!("root {}: {e}", dir.display()))?;
        if !root.is_dir() {
            return Err(format!("root {} is not a folder", dir.display()));
        }
        Ok(FileRoot { root: Some(root) })
    }

    pub fn path(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// `path` (relative to the root, or absolute inside it) as the file it
    /// names once symlinks are followed, refused when that is not under the
    /// root. A path with `..` is refused whatever it resolves to: it says the
    /// caller meant to leave the folder.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FileError> {
        let Some(root) = &self.root else {
            return Err(FileError::Refused(format!(
                "{path:?} was not read: the mock reads files only under a root it was given; {HOW}"
            )));
        };
        let given = Path::new(path);
        if given.components().any(|c| c == Component::ParentDir) {
            return Err(FileError::Refused(format!(
                "{path:?} was not read: paths with \"..\" are refused (the root is {})",
                root.display()
            )));
        }
        let outside = || {
            FileError::Refused(format!(
                "{path:?} was not read: it is outside the mock's root {}",
                root.display()
            ))
        };
        // `join` with an absolute path yields that path.
        match std::fs::canonicalize(root.join(given)) {
            Ok(file) if file.starts_with(root) => Ok(file),
            Ok(_) => Err(outside()),
            Err(_) if given.is_absolute() && !given.starts_with(root) => Err(outside()),
            Err(e) => Err(FileError::Missing(format!(
                "{path:?} under the root {}: {e}",
                root.display()
            ))),
        }
    }
}

#[derive(Debug)]
pub enum FileError {
    /// Not under the root, or no root at all.
    Refused(String),
    /// Under the root, but not there.
    Missing(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Refused(m) | FileError::Missing(m) => f.write_str(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_root_nothing_is_read_and_the_error_says_how() {
        let e = FileRoot::default()
            .resolve("/etc/hostname")
            .unwrap_err()
            .to_string();
        assert!(e.contains("root:") && e.contains("--root"), "{e}");
    }

    #[test]
    fn a_missing_root_fails_to_start() {
        assert!(FileRoot::new(Path::new("/nonexistent/switchboard")).is_err());
    }
}
