//! Bounds on what mlprobe reads and on what its messages quote.
//!
//! Every file read whole goes through [`read_bytes`] or [`read_text`] with the limit of its kind
//! (one constant each, below): a file over it is an [`Error::File`] naming the file and the
//! limit, after reading at most `limit + 1` bytes (so `/dev/zero`, a FIFO that never ends or a
//! wrong file given by mistake cannot fill the memory). CSV files are streamed instead
//! ([`data::scan`](crate::data::scan)); they are bounded per record by [`CSV_RECORD_BYTES`].
//!
//! Messages quote cells, column names and other text from the input through [`excerpt`] and
//! [`excerpt_list`], so a 10 MB header does not make a 10 MB message.

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// Largest model file (`--model`, `.mlpb`): the largest model core accepts
/// ([`MAX_INPUTS`](mlprobe_core::mlp::MAX_INPUTS) = 4096 inputs, 8 layers of at most 256 units, 64 classes) is
/// about 66 MiB of `f32` parameters.
pub const MODEL_BYTES: u64 = 128 << 20;
/// Largest file `mlprobe import` reads (safetensors): a model with its optimizer state or extra
/// tensors is larger than the model it holds.
pub const IMPORT_BYTES: u64 = 512 << 20;
/// Largest TOML file: an expectation suite (`--suite`), a run configuration (`--config`), a
/// gate policy (`--policy`).
pub const TOML_BYTES: u64 = 16 << 20;
/// Largest JSON file read back: a run report (`report --from`), an evaluation baseline.
pub const JSON_BYTES: u64 = 256 << 20;
/// Largest firmware ELF file.
pub const ELF_BYTES: u64 = 256 << 20;
/// Longest CSV record (a line, or the lines of a record whose quoted field holds newlines):
/// 16 MiB, a row of a million 15-digit numbers. A longer one is an error at its line.
pub const CSV_RECORD_BYTES: usize = 16 << 20;
/// Characters of input text a message quotes before cutting it with `…`.
pub const EXCERPT_CHARS: usize = 64;
/// Items of a list (column names) a message quotes before `… and N more`.
pub const EXCERPT_ITEMS: usize = 16;

/// Reads `path` whole, failing (exit 2, naming the file and the limit) past `limit` bytes;
/// `kind` names what the file is in that message (`model file`, `suite`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("x");
/// std::fs::write(&p, b"12345").unwrap();
/// assert_eq!(mlprobe::limits::read_bytes(&p, 5, "test file").unwrap(), b"12345");
/// let e = mlprobe::limits::read_bytes(&p, 4, "test file").unwrap_err();
/// assert!(e.to_string().ends_with("larger than 4 bytes, the limit for a test file"), "{e}");
/// ```
pub fn read_bytes(path: &Path, limit: u64, kind: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::file(
            path,
            format!("larger than {}, the limit for a {kind}", size(limit)),
        ));
    }
    Ok(bytes)
}

/// [`read_bytes`] of a text file: invalid UTF-8 is an error naming the file.
pub fn read_text(path: &Path, limit: u64, kind: &str) -> Result<String> {
    let bytes = read_bytes(path, limit, kind)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Error::file(
            path,
            format!("not a {kind}: not UTF-8 text (at byte {})", at + 1),
        )
    })
}

/// `n` bytes for people: `16 MiB`, `4 bytes`.
pub fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// At most [`EXCERPT_CHARS`] characters of `text`, then `…` when it was longer.
///
/// ```
/// use mlprobe::limits::excerpt;
/// assert_eq!(excerpt("alcohol"), "alcohol");
/// let long = "x".repeat(10_000);
/// assert_eq!(excerpt(&long).chars().count(), 65);
/// assert!(excerpt(&long).ends_with("x…"));
/// ```
pub fn excerpt(text: &str) -> Cow<'_, str> {
    let cut = text.char_indices().nth(EXCERPT_CHARS).map(|(i, _)| i);
    let head = &text[..cut.unwrap_or(text.len())];
    if cut.is_none() && !head.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    // Control characters (a newline in a quoted cell) written as escapes, on one line.
    let mut out: String = head
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if cut.is_some() {
        out.push('…');
    }
    Cow::Owned(out)
}

/// [`excerpt`] of bytes read from a file (invalid UTF-8 replaced).
pub fn excerpt_bytes(bytes: &[u8]) -> String {
    // Enough bytes for EXCERPT_CHARS characters of up to 4 bytes, and one more to see a cut.
    let head = &bytes[..bytes.len().min(4 * EXCERPT_CHARS + 4)];
    let text = String::from_utf8_lossy(head);
    let cut = excerpt(&text).into_owned();
    if head.len() < bytes.len() && !cut.ends_with('…') {
        cut + "…"
    } else {
        cut
    }
}

/// The first [`EXCERPT_ITEMS`] of `items`, each an [`excerpt`], joined by `, `, then
/// `… and N more` when there were more.
///
/// ```
/// use mlprobe::limits::excerpt_list;
/// assert_eq!(excerpt_list(["a", "b"]), "a, b");
/// let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
/// assert!(excerpt_list(&many).ends_with("15, … and 84 more"));
/// ```
pub fn excerpt_list<I>(items: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out = String::new();
    let mut rest = 0usize;
    for (i, item) in items.into_iter().enumerate() {
        if i >= EXCERPT_ITEMS {
            rest += 1;
            continue;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&excerpt(item.as_ref()));
    }
    if rest > 0 {
        out.push_str(&format!(", … and {rest} more"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        // /dev/zero never ends: the bounded read still returns.
        let e = read_bytes(Path::new("/dev/zero"), 1 << 20, "model file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero: larger than 1 MiB, the limit for a model file"
        );
        let e = read_text(Path::new("/dev/zero"), 4096, "suite").unwrap_err();
        assert!(e.to_string().contains("larger than 4 KiB"), "{e}");
    }

    #[test]
    fn excerpts_cut_on_characters() {
        let s = "é".repeat(100);
        let e = excerpt(&s);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(excerpt_bytes(s.as_bytes()), e);
        assert_eq!(excerpt_bytes(b"abc"), "abc");
        assert_eq!(excerpt_list(Vec::<String>::new()), "");
        assert_eq!(excerpt("2\n3"), "2\\n3");
    }
}
