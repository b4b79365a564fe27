//! What a result was computed from: the SHA-256 of every input file, mlprobe's version, the
//! git commit of the working directory, the machine, and when. `mlprobe run` records it in
//! `report.json`, the HTML and the Markdown, so a report can be traced back to the exact data,
//! models, suite, policy and configuration it judged.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let f = dir.path().join("abc.txt");
//! std::fs::write(&f, "abc").unwrap();
//! let d = mlprobe::provenance::FileDigest::of("data", &f).unwrap();
//! // FIPS 180-2, appendix B.1: SHA-256("abc").
//! assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
//! assert_eq!(d.bytes, 3);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One input file: its role in the run, where it was, its size and its SHA-256.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    /// What the file was to the run: `data`, `config`, `suite`, `policy`, `baseline`,
    /// `model`, `previous model`.
    pub role: String,
    /// The path as the run used it.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, lower-case hex; empty when it could not be read.
    pub sha256: String,
    /// Why the file could not be digested (it vanished or became unreadable during the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileDigest {
    /// Reads `path` through and digests it (any size: 64 KiB at a time).
    pub fn of(role: &str, path: &Path) -> Result<Self> {
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(Self {
            role: role.into(),
            path: path.display().to_string(),
            bytes,
            sha256: hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            error: None,
        })
    }
}

/// The git commit a directory is at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Git {
    /// The commit hash (`git rev-parse HEAD`).
    pub commit: String,
    /// Whether tracked files differ from it (`git status --porcelain --untracked-files=no`).
    pub dirty: bool,
}

impl Git {
    /// The commit of the repository holding `dir`; `None` outside a repository or without git.
    pub fn of(dir: &Path) -> Option<Self> {
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty())?;
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        Some(Self { commit, dirty })
    }
}

/// The machine a run ran on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's brand string (`AMD EPYC 7763 64-Core Processor`).
    pub cpu: String,
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// The OS with its version (`Linux (Debian GNU/Linux 12)`), and the kernel's.
    pub os: String,
    /// The CPU architecture (`x86_64`, `aarch64`).
    pub arch: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Self {
        use sysinfo::{CpuRefreshKind, RefreshKind, System};
        let sys =
            System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()));
        let cpu = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let os = match (System::long_os_version(), System::kernel_version()) {
            (Some(os), Some(k)) => format!("{os}, kernel {k}"),
            (Some(os), None) => os,
            (None, _) => std::env::consts::OS.into(),
        };
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os,
            arch: std::env::consts::ARCH.into(),
        }
    }
}

/// Everything a run records about what it judged and where.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Every input file, digested.
    pub files: Vec<FileDigest>,
    /// The git commit of the working directory, when it is in a repository.
    pub git: Option<Git>,
    /// The machine.
    pub machine: Machine,
}

impl Provenance {
    /// Digests `files` (role, path), and records the working directory's commit and this
    /// machine. A file that cannot be read keeps its place with the reason and no digest: the
    /// run's results are not thrown away for it, and no digest is claimed that was not
    /// computed.
    pub fn collect<'a>(files: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Self {
        let files = files
            .into_iter()
            .map(|(role, p)| {
                FileDigest::of(role, p).unwrap_or_else(|e| FileDigest {
                    role: role.into(),
                    path: p.display().to_string(),
                    error: Some(e.to_string()),
                    ..FileDigest::default()
                })
            })
            .collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self {
            files,
            git: Git::of(&cwd),
            machine: Machine::this(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected digests: FIPS 180-2 appendix B (`abc`, the 448-bit message) and
    /// `python3 -c "import hashlib; print(hashlib.sha256(b'a'*200000).hexdigest())"` for a file
    /// longer than one read.
    #[test]
    fn digests_are_sha256_of_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        for (text, hex) in [
            (
                b"abc".to_vec(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".to_vec(),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                b"".to_vec(),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                vec![b'a'; 200_000],
                "2287d207f24a941ff3b56c04c8a25ad56b63e3023207b3bb5b4ac0c9869d74be",
            ),
        ] {
            let f = dir.path().join("f");
            std::fs::write(&f, &text).unwrap();
            let d = FileDigest::of("data", &f).unwrap();
            assert_eq!((d.sha256.as_str(), d.bytes), (hex, text.len() as u64));
        }
        let missing = dir.path().join("missing");
        assert!(FileDigest::of("data", &missing).is_err());
        let p = Provenance::collect([("data", missing.as_path())]);
        assert!(p.files[0].sha256.is_empty() && p.files[0].error.is_some());
    }

    #[test]
    fn the_machine_and_the_commit_are_recorded() {
        let m = Machine::this();
        assert!(m.cores >= 1 && !m.os.is_empty() && !m.arch.is_empty());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Git::of(dir.path()), None, "not a repository");
    }
}
