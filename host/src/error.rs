//! Errors of the command line, and the exit codes of DESIGN.md.
//!
//! `0` success and every check passed · `1` the run worked and a check failed ·
//! `2` bad input or usage (the message names the file, line and column or the flag) ·
//! `3` internal failure · `4` the device, its link or its emulator failed.

use std::path::{Path, PathBuf};

/// Process exit codes.
pub mod exit {
    /// Success, every check passed.
    pub const OK: u8 = 0;
    /// The run worked and a check failed.
    pub const CHECK_FAILED: u8 = 1;
    /// Bad input or usage.
    pub const INPUT: u8 = 2;
    /// Internal failure.
    pub const INTERNAL: u8 = 3;
    /// The device, its link or its emulator failed.
    pub const DEVICE: u8 = 4;
}

/// An error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file is malformed: names the file, line and column.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column (field) number, never 0 (1 when the whole line is at fault).
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file is wrong as a whole (empty, not a model, wrong shape).
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A flag or argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// The device, its link, its emulator or its firmware build failed: not the input's fault,
    /// and not a bug of mlprobe's (QEMU missing, no answer, a firmware that does not build).
    #[error("device: {0}")]
    Device(String),
    /// A bug or an unexpected state: not the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Internal(_) => exit::INTERNAL,
            Error::Device(_) => exit::DEVICE,
            _ => exit::INPUT,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A TOML file that does not parse or does not fit its schema, located at the line and
    /// column of `error`'s span in `text` (line 1, column 1 when the error has no span).
    pub fn toml(path: &Path, text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error.span().map_or((1, 1), |s| line_col(text, s.start));
        Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: error.message().to_string(),
        }
    }

    /// A whole-file error on `path`.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Error::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl Error {
    /// The error as the one JSON document `--json` prints on stdout when a command fails:
    /// `{"error": {"kind", "message", "location"}}`, where `kind` is `parse`, `file`, `io`,
    /// `usage`, `device` or `internal`, and `location` is `{"path", "line", "column"}` (a
    /// parse error), `{"path"}` (a file), or `null`.
    ///
    /// ```
    /// use mlprobe::error::Error;
    /// let e = Error::file(std::path::Path::new("m.mlpb"), "not a model file");
    /// let v = e.to_json();
    /// assert_eq!(v["error"]["kind"], "file");
    /// assert_eq!(v["error"]["location"]["path"], "m.mlpb");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let path = |p: &Path| p.display().to_string();
        let (kind, message, location) = match self {
            Error::Parse {
                path: p,
                line,
                column,
                message,
            } => (
                "parse",
                message.clone(),
                json!({"path": path(p), "line": line, "column": column}),
            ),
            Error::File { path: p, message } => ("file", message.clone(), json!({"path": path(p)})),
            Error::Io { path: p, source } => ("io", source.to_string(), json!({"path": path(p)})),
            Error::Usage(m) => ("usage", m.clone(), serde_json::Value::Null),
            Error::Device(m) => ("device", m.clone(), serde_json::Value::Null),
            Error::Internal(m) => ("internal", m.clone(), serde_json::Value::Null),
        };
        json!({"error": {"kind": kind, "message": message, "location": location}})
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (u64, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Result of a command.
pub type Result<T> = std::result::Result<T, Error>;
