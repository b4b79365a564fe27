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

/// Writes `bytes` to `path`, or to stdout when `path` is `-`.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str() == "-" {
        return print(&String::from_utf8_lossy(bytes));
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}
