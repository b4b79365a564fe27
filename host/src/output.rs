//! Writing to stdout: JSON documents and human text, where a closed pipe is not an error.

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;

/// Writes `text` to stdout. A closed pipe (`mlprobe … | head`) ends quietly.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Internal(format!("writing to stdout: {e}"))),
    }
}

/// Writes one JSON document (pretty-printed, newline-terminated) to stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising JSON: {e}")))?;
    text.push('\n');
    print(&text)
}

/// Writes `bytes` to `path`, or to stdout when `path` is `-`. The file is written atomically:
/// to a temporary file in the same directory, then renamed over `path`, so a reader never sees
/// half a file and a failed write leaves the old one.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str() == "-" {
        return print(&String::from_utf8_lossy(bytes));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mlprobe-");
    // The permissions `fs::write` gives (0o666 less the umask), not a temporary file's 0o600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
