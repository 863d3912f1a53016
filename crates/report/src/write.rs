//! Atomic file writing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::model::Report;

impl Report {
    /// Validates the report, renders it and writes it to `path` atomically (a temporary file
    /// in the same folder, flushed to disk, then renamed over `path`), creating missing parent
    /// folders. Returns the absolute path written.
    ///
    /// Errors: [`ReportError::Length`] / [`ReportError::Invalid`] for inconsistent data,
    /// [`ReportError::Io`] naming the file when the disk refuses.
    pub fn write_html(&self, path: impl AsRef<Path>) -> Result<PathBuf, ReportError> {
        self.validate()?;
        let html = self.render_html();
        write_atomic(path.as_ref(), html.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a
/// half-written file. Creates missing parent folders. Returns the absolute path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Io {
            op,
            path: p,
            source,
        }
    };
    let file_name = path.file_name().ok_or_else(|| {
        ReportError::invalid(
            "write_html",
            "path",
            format!("{} has no file name", path.display()),
        )
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io("create directory", &parent))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(
        ".{}.{}.{nanos}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(bytes).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("sync", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io("rename to", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    let abs = fs::canonicalize(path).map_err(io("canonicalize", path))?;
    Ok(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_creates_parents_and_leaves_no_temp_files() {
        let dir =
            std::env::temp_dir().join(format!("glassbox-report-write-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let target = dir.join("nested").join("report.html");
        let written = write_atomic(&target, b"first").unwrap();
        assert!(written.is_absolute());
        write_atomic(&target, b"second").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "second");
        let names: Vec<_> = fs::read_dir(dir.join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "temp files left behind: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn io_errors_name_the_file() {
        // A path whose parent is a regular file cannot be created.
        let file =
            std::env::temp_dir().join(format!("glassbox-report-notadir-{}", std::process::id()));
        fs::write(&file, b"x").unwrap();
        let err = write_atomic(&file.join("report.html"), b"y")
            .unwrap_err()
            .to_string();
        assert!(err.contains("glassbox-report-notadir"), "{err}");
        fs::remove_file(&file).unwrap();
    }
}
