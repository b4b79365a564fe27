//! Writing results: JSON documents and human text on stdout (where a closed pipe is not an
//! error), and output files, each written whole or not at all.

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Writes `text` to stdout. A closed pipe (`mlprobe … | head`) ends quietly.
pub fn print(text: &str) -> Result<()> {
    print_bytes(text.as_bytes())
}

/// Writes `bytes` to stdout as they are. A closed pipe ends quietly.
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Internal(format!("writing to stdout: {e}"))),
    }
}

/// One JSON document, pretty-printed and newline-terminated.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Writes one JSON document (pretty-printed, newline-terminated) to stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    print(&to_json(value)?)
}

/// Writes `bytes` to `path`, or to stdout when `path` is `-`.
///
/// The file is written atomically: into a temporary file in the same directory, then renamed
/// over `path`, so a reader (or a crash) never sees half a file and a failed write leaves the
/// old file as it was. The new file gets the permissions `std::fs::write` would give it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str() == "-" {
        return print_bytes(bytes);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mlprobe-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Less the umask, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// [`write_file`], refusing a `path` that is one of `inputs` (the same file, also through
/// links or another spelling): an output never replaces what it was made from.
pub fn write_new(path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<()> {
    if let Some(input) = inputs.iter().find(|i| same_file(path, i)) {
        return Err(Error::Usage(format!(
            "{}: is an input of this command ({}); write the output to another file",
            path.display(),
            input.display()
        )));
    }
    write_file(path, bytes)
}

/// True when both paths exist and are the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_file(&path, b"first").unwrap();
        write_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o600, 0o600, "readable and writable by its owner");
        }
        let missing = dir.path().join("no/such/dir/out.txt");
        let e = write_file(&missing, b"x").unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(e.to_string().starts_with(&missing.display().to_string()));
    }

    #[test]
    fn write_new_refuses_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("data.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        let same = dir.path().join(".").join("data.csv");
        let e = write_new(&same, b"x", &[Path::new("other"), &input]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(e.to_string().contains("is an input of this command"), "{e}");
        assert_eq!(std::fs::read(&input).unwrap(), b"a\n1\n");
        let out = dir.path().join("out.csv");
        write_new(&out, b"y", &[&input]).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"y");
    }
}
