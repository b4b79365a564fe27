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

/// Writes `text` to stderr (a warning, a progress or summary line). Errors, a closed pipe
/// among them (`mlprobe … 2>&1 | head`), are ignored: the command goes on, writes its files and
/// exits with its own code. `eprintln!` would panic (exit 101) instead.
pub fn eprint(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// [`eprint()`] with a newline.
pub fn eprintln(text: &str) {
    eprint(&format!("{text}\n"));
}

/// Progress of a long command on stderr: a line every `every` while it runs (`line` gets the
/// time since the start), nothing for a command that ends sooner. Stopped when dropped.
#[derive(Debug)]
pub struct Ticker {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Starts the ticker.
    pub fn start(
        every: std::time::Duration,
        line: impl Fn(std::time::Duration) -> String + Send + 'static,
    ) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let start = std::time::Instant::now();
        let thread = std::thread::spawn(move || {
            // A message or a dropped sender both end it.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every)
            {
                eprintln(&line(start.elapsed()));
            }
        });
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes `bytes` to `path`, or to stdout when `path` is `-` (byte for byte).
///
/// The file is written atomically: into a temporary file in the same directory, synced to disk,
/// then renamed over `path` (and the directory synced), so a reader (or a crash) never sees
/// half a file and a failed write leaves the old file as it was. The new file gets the
/// permissions `std::fs::write` would give it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if is_stdout(path) {
        return print_bytes(bytes);
    }
    stage(path, bytes)?.commit()
}

/// [`write_file`], refusing a `path` that is one of `inputs` (the same file, also through
/// links or another spelling): an output never replaces what it was made from.
pub fn write_new(path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<()> {
    check_output(path, inputs)?;
    write_file(path, bytes)
}

/// True for `-`, which means stdout.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where a command's own report goes: its `--json` document or its text summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportTo {
    /// Stdout, as usual.
    Stdout,
    /// Stderr: an output file took stdout (`--out -`), so the text summary steps aside.
    Stderr,
}

/// The one-document rule (DESIGN.md, "One document on stdout"): stdout carries one thing.
///
/// `outputs` are a command's output flags with their paths, e.g. `[("--out", Some(path))]`. At
/// most one of them may be `-`; with `--json` none may, since the JSON document is then the one
/// thing on stdout. Either conflict is a usage error (exit 2) naming both flags, checked before
/// any work. Returns where the command's own report goes: [`ReportTo::Stderr`] when an output
/// took stdout (the text summary then goes to stderr), else [`ReportTo::Stdout`].
pub fn claim_stdout(json: bool, outputs: &[(&str, Option<&Path>)]) -> Result<ReportTo> {
    let mut taken: Option<&str> = None;
    for (flag, path) in outputs {
        if !path.is_some_and(is_stdout) {
            continue;
        }
        if json {
            return Err(Error::Usage(format!(
                "--json and {flag} - both write to stdout; choose one (write {flag} to a file \
                 to keep the JSON document on stdout)"
            )));
        }
        if let Some(first) = taken {
            return Err(Error::Usage(format!(
                "{first} - and {flag} - both write to stdout; write one of them to a file"
            )));
        }
        taken = Some(flag);
    }
    Ok(if taken.is_some() {
        ReportTo::Stderr
    } else {
        ReportTo::Stdout
    })
}

/// Checks, before any work, that `path` can take an output: not one of `inputs` (exit 2), not
/// a directory (exit 2), in a directory that exists. `-` (stdout) always can.
pub fn check_output(path: &Path, inputs: &[&Path]) -> Result<()> {
    if is_stdout(path) {
        return Ok(());
    }
    if let Some(input) = inputs.iter().find(|i| same_file(path, i)) {
        return Err(Error::Usage(format!(
            "{}: is an input of this command ({}); write the output to another file",
            path.display(),
            input.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: is a directory; name a file to write",
            path.display()
        )));
    }
    let dir = parent(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Usage(format!(
            "{}: {} is not a directory",
            path.display(),
            dir.display()
        ))),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Checks that no two of `outputs` are the same file (`-` aside): one would replace the other.
pub fn check_distinct(outputs: &[&Path]) -> Result<()> {
    for (i, a) in outputs.iter().enumerate() {
        for b in &outputs[..i] {
            if !is_stdout(a) && (a == b || same_file(a, b)) {
                return Err(Error::Usage(format!(
                    "{}: named for two outputs; give each output its own file",
                    a.display()
                )));
            }
        }
    }
    Ok(())
}

/// An output written whole and synced to a temporary file next to its target, not yet in
/// place: [`Staged::commit`] renames it over the target; dropping it removes it. Stage every
/// output of a command first, then commit them all, and a failure while writing leaves every
/// existing file as it was.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Renames the temporary file over the target and syncs the directory.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp
            .persist(&path)
            .map_err(|e| Error::io(&path, e.error))?;
        // The rename is durable once the directory is on disk (best effort: not every
        // platform can open a directory).
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(parent(&path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Writes `bytes` to a temporary file in `path`'s directory and syncs it (see [`Staged`]).
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mlprobe-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Less the umask, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(parent(path))
        .map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
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
    fn stdout_carries_one_document() {
        let dash = Path::new("-");
        let file = Path::new("x.xml");
        assert_eq!(
            claim_stdout(true, &[("--out", Some(file)), ("--junit", None)]).unwrap(),
            ReportTo::Stdout
        );
        assert_eq!(
            claim_stdout(false, &[("--out", Some(dash))]).unwrap(),
            ReportTo::Stderr
        );
        let e = claim_stdout(true, &[("--out", Some(file)), ("--junit", Some(dash))]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(
            e.to_string()
                .starts_with("--json and --junit - both write to stdout"),
            "{e}"
        );
        let e = claim_stdout(
            false,
            &[("--junit", Some(dash)), ("--markdown", Some(dash))],
        );
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("--junit - and --markdown - both write to stdout"),
            "{e}"
        );
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

    #[test]
    fn staged_outputs_are_checked_first_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"old").unwrap();
        let staged = stage(&path, b"new").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"old",
            "not in place before commit"
        );
        drop(staged);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file removed"
        );
        stage(&path, b"new").unwrap().commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let e = check_output(dir.path(), &[]).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = check_output(&path.join("x"), &[]).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        check_output(Path::new("-"), &[&path]).unwrap();
        let e = check_distinct(&[&path, Path::new("-"), &dir.path().join("./out.bin")]);
        assert!(e.unwrap_err().to_string().contains("two outputs"));
        check_distinct(&[Path::new("-"), Path::new("-")]).unwrap();
    }
}
