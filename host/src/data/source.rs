//! Where a table's bytes come from: a CSV file as it is, gzip- or zstd-compressed (decompressed
//! as it is read, never whole in memory), a Parquet file (read by row group as CSV text:
//! [`parquet`](super::parquet)), or stdin (`-`). Every reader of tables opens its file
//! here ([`Scanner::open`](super::Scanner::open), and with it `expect`, `profile`, `train`,
//! `eval`, `predict`, `run`...).
//!
//! What a file holds is read from its first bytes (gzip's `1f 8b`, zstd's `28 b5 2f fd`,
//! Parquet's `PAR1`, ...), not trusted from its name; a name that says something else
//! (`data.csv` holding gzip data, `data.csv.gz` holding text) is an error saying what was
//! found, so that a mislabelled file is noticed rather than read as something it is not. A
//! name without a known extension (`-`, a FIFO, `data.dat`) is read as what it holds.
//!
//! ```
//! use mlprobe::data::source::{Format, open};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("t.csv.gz");
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
//! std::io::Write::write_all(&mut gz, b"a,b\n1,2\n").unwrap();
//! std::fs::write(&path, gz.finish().unwrap()).unwrap();
//! let input = open(&path).unwrap();
//! assert_eq!(input.format(), Format::Gzip);
//! let mut text = String::new();
//! std::io::Read::read_to_string(&mut input.into_reader().unwrap(), &mut text).unwrap();
//! assert_eq!(text, "a,b\n1,2\n");
//!
//! std::fs::write(&path, "a,b\n1,2\n").unwrap();
//! let e = open(&path).unwrap_err().to_string();
//! assert!(e.contains("the name says gzip-compressed CSV, but the file holds CSV text"), "{e}");
//! ```

use super::parquet::{ParquetCsv, ParquetTable};
use crate::error::{Error, Result};
use crate::limits::excerpt_bytes;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// The name that reads stdin.
pub const STDIN: &str = "-";

/// How messages name stdin.
pub const STDIN_NAME: &str = "<stdin>";

/// What a data file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV text.
    Csv,
    /// Gzip-compressed CSV (`.gz`), every member of a concatenated file.
    Gzip,
    /// Zstandard-compressed CSV (`.zst`).
    Zstd,
    /// An Apache Parquet file (`.parquet`).
    Parquet,
}

impl Format {
    /// What the format is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Csv => "CSV text",
            Format::Gzip => "gzip-compressed CSV",
            Format::Zstd => "zstd-compressed CSV",
            Format::Parquet => "a Parquet file",
        }
    }

    /// What the name's last extension says (case-insensitive): `.csv`, `.txt`; `.gz`, `.gzip`;
    /// `.zst`, `.zstd`; `.parquet`, `.pq`. `None` for any other name.
    pub fn of_name(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "txt" => Format::Csv,
            "gz" | "gzip" => Format::Gzip,
            "zst" | "zstd" => Format::Zstd,
            "parquet" | "pq" => Format::Parquet,
            _ => return None,
        })
    }
}

/// What the first bytes of a file are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// A format mlprobe reads.
    Readable(Format),
    /// A format it does not: what it is and what to do.
    Other(&'static str, &'static str),
}

/// The longest magic number [`sniff`] looks at.
const HEAD: usize = 64;

/// What `head` (the file's first bytes, at most [`HEAD`]; fewer only at the end of the file)
/// starts with. Anything without a known magic number is taken for text: the CSV reader names
/// the line and column of a byte that is not (a NUL).
fn sniff(head: &[u8]) -> Found {
    const MAGIC: [(&[u8], Found); 7] = [
        (&[0x1f, 0x8b], Found::Readable(Format::Gzip)),
        (&[0x28, 0xb5, 0x2f, 0xfd], Found::Readable(Format::Zstd)),
        (b"PAR1", Found::Readable(Format::Parquet)),
        (
            b"PK\x03\x04",
            Found::Other("a ZIP archive", "extract the CSV file from it (unzip)"),
        ),
        (
            &[0xfd, b'7', b'z', b'X', b'Z', 0],
            Found::Other(
                "xz-compressed data",
                "decompress it (xz -d), or recompress it with gzip or zstd",
            ),
        ),
        (
            b"BZh",
            Found::Other(
                "bzip2-compressed data",
                "decompress it (bunzip2), or recompress it with gzip or zstd",
            ),
        ),
        (
            b"\x89HDF",
            Found::Other("an HDF5 file", "export the table as CSV or Parquet"),
        ),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map_or(Found::Readable(Format::Csv), |&(_, found)| found)
}

/// An open data file: CSV text (decompressed if it was compressed), or a Parquet table.
pub struct Input {
    path: PathBuf,
    format: Format,
    body: Body,
    size: Option<u64>,
    reopenable: bool,
}

/// What an [`Input`] reads from.
pub enum Body {
    /// Bytes of CSV text.
    Text(Box<dyn Read + Send>),
    /// A Parquet file, its footer read.
    Parquet(ParquetTable),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("size", &self.size)
            .field("reopenable", &self.reopenable)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// The file as messages name it (`<stdin>` for `-`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The length of the CSV text in bytes, when it is known before reading it (a plain
    /// regular file: not a compressed one, not stdin or a FIFO).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Whether [`open`] can read the same bytes again (a regular file, compressed or not;
    /// not stdin or a FIFO): a second pass over the rows can reopen it rather than keep a copy.
    pub fn reopenable(&self) -> bool {
        self.reopenable
    }

    /// What to read from.
    pub fn into_body(self) -> Body {
        self.body
    }

    /// The bytes of CSV text, from the first (a Parquet table's as [`ParquetCsv`] writes
    /// them).
    pub fn into_reader(self) -> Result<Box<dyn Read + Send>> {
        Ok(match self.body {
            Body::Text(reader) => reader,
            Body::Parquet(table) => Box::new(ParquetCsv::new(table)?),
        })
    }
}

/// Opens `path` (`-` for stdin) as CSV text: see the [module docs](self).
///
/// Errors (exit 2, naming the file): it cannot be opened; its content is not what its name
/// says; it is in a format mlprobe does not read (xz, bzip2, ZIP, HDF5: what to do is said);
/// it is a Parquet file whose footer or columns cannot be read, or that has a nested column
/// ([`parquet`](super::parquet)). A compressed stream or a Parquet page that turns out to be
/// corrupt or truncated is an error of the read that meets it.
pub fn open(path: &Path) -> Result<Input> {
    if path.as_os_str() == STDIN {
        return from_reader(Path::new(STDIN_NAME), std::io::stdin(), None, None, None);
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().ok();
    if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err(Error::file(path, "a directory, not a data file"));
    }
    // Only a regular file's length is its size (`/dev/zero` and a FIFO say 0).
    let regular = meta.filter(std::fs::Metadata::is_file);
    // A regular file is read again (Parquet's footer, a profile's second pass) through a
    // second handle.
    let again = match &regular {
        Some(_) => Some(file.try_clone().map_err(|e| Error::io(path, e))?),
        None => None,
    };
    from_reader(
        path,
        file,
        regular.as_ref().map(std::fs::Metadata::len),
        again,
        Format::of_name(path),
    )
}

/// [`open`] for bytes from `source`; `again` is a second handle on it when it is a regular
/// file, `named` what the name says, if anything.
fn from_reader<R: Read + Send + 'static>(
    path: &Path,
    mut source: R,
    size: Option<u64>,
    again: Option<std::fs::File>,
    named: Option<Format>,
) -> Result<Input> {
    let reopenable = again.is_some();
    let mut head = Vec::with_capacity(HEAD);
    (&mut source)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let found = sniff(&head);
    let format = match found {
        Found::Other(what, todo) => {
            return Err(Error::file(
                path,
                format!(
                    "the file holds {what}, which mlprobe does not read: {todo} \
                     (mlprobe reads CSV text, gzip- or zstd-compressed CSV, and Parquet)"
                ),
            ));
        }
        Found::Readable(format) => format,
    };
    if let Some(named) = named
        && named != format
    {
        let starts = match format {
            Format::Csv => format!(" (it starts with `{}`)", excerpt_bytes(&head)),
            _ => String::new(),
        };
        return Err(Error::file(
            path,
            format!(
                "the name says {}, but the file holds {}{starts}: name the file for what it \
                 holds ({})",
                named.describe(),
                format.describe(),
                extension_hint(format),
            ),
        ));
    }
    let raw = Cursor::new(head).chain(source);
    let body = match format {
        Format::Csv => Body::Text(Box::new(raw)),
        Format::Gzip => Body::Text(Box::new(Decoding {
            inner: flate2::read::MultiGzDecoder::new(raw),
            what: "gzip",
        })),
        Format::Zstd => Body::Text(Box::new(Decoding {
            inner: zstd::stream::read::Decoder::new(raw).map_err(|e| Error::io(path, e))?,
            what: "zstd",
        })),
        Format::Parquet => {
            // Parquet is read from its end (the footer) and by column chunk: from the file
            // itself, or from a copy of a stream.
            let file = match again {
                Some(file) => file,
                None => {
                    let mut copy = tempfile::tempfile().map_err(|e| Error::io(path, e))?;
                    let mut raw = raw;
                    std::io::copy(&mut raw, &mut copy).map_err(|e| Error::io(path, e))?;
                    copy
                }
            };
            Body::Parquet(ParquetTable::open(path, file)?)
        }
    };
    Ok(Input {
        path: path.to_path_buf(),
        format,
        body,
        size: if format == Format::Csv { size } else { None },
        reopenable,
    })
}

/// The extensions that name `format`.
fn extension_hint(format: Format) -> &'static str {
    match format {
        Format::Csv => ".csv",
        Format::Gzip => ".csv.gz",
        Format::Zstd => ".csv.zst",
        Format::Parquet => ".parquet",
    }
}

/// A decompressing reader whose errors say which compression was corrupt or cut short.
struct Decoding<R> {
    inner: R,
    what: &'static str,
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the {} data is corrupt or truncated: {e}", self.what),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"a,b\n1,2"), Found::Readable(Format::Csv));
        assert_eq!(sniff(b""), Found::Readable(Format::Csv));
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Found::Readable(Format::Gzip));
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Found::Readable(Format::Zstd)
        );
        assert_eq!(sniff(b"PAR1\x15\x04"), Found::Readable(Format::Parquet));
        assert!(matches!(
            sniff(b"PK\x03\x04"),
            Found::Other("a ZIP archive", _)
        ));
        assert!(matches!(sniff(b"BZh91AY"), Found::Other(..)));
        assert!(matches!(sniff(b"\xfd7zXZ\0"), Found::Other(..)));
    }

    #[test]
    fn names() {
        let of = |s: &str| Format::of_name(Path::new(s));
        assert_eq!(of("a.csv"), Some(Format::Csv));
        assert_eq!(of("a.CSV.GZ"), Some(Format::Gzip));
        assert_eq!(of("a.csv.zst"), Some(Format::Zstd));
        assert_eq!(of("a.parquet"), Some(Format::Parquet));
        assert_eq!(of("a.dat"), None);
        assert_eq!(of("-"), None);
        assert_eq!(of("/dev/fd/3"), None);
    }
}
