//! The CSV scanner (`mlprobe::data::Scanner`) and the in-memory loader (`mlprobe::data::parse`):
//! no panic on any bytes, and the scan in small chunks on 2 threads gives the same rows, values,
//! text cells and line numbers, or fails at the same place, as one chunk on 1 thread.
use mlprobe::data::{self, Labels, Rejected, ScanOptions, Scanner, Sink};
use mlprobe::error::Error;
use std::path::Path;

/// Every value's bits, every text cell (the odd columns are read as text) and every row's
/// file line.
#[derive(Default, PartialEq, Debug)]
struct All {
    values: Vec<u64>,
    cells: Vec<Option<Vec<u8>>>,
    lines: Vec<u64>,
}

impl Sink for All {
    type Value = f64;
    fn reads_text(&self, column: usize) -> bool {
        column % 2 == 1
    }
    fn text(&mut self, _column: usize, cell: Option<&[u8]>) {
        self.cells.push(cell.map(<[u8]>::to_vec));
    }
    fn row(&mut self, values: &[f64], line: u64) -> Result<(), Rejected> {
        self.values.extend(values.iter().map(|v| v.to_bits()));
        self.lines.push(line);
        Ok(())
    }
    fn merge(&mut self, later: Self, lines_before: u64) {
        self.values.extend(later.values);
        self.cells.extend(later.cells);
        self.lines
            .extend(later.lines.into_iter().map(|l| l + lines_before));
    }
}

/// Scans `bytes`; `sized`: the scanner knows their length (a source of one chunk is then
/// parsed without threads, as a regular file is).
fn scan(bytes: &[u8], options: ScanOptions, sized: bool) -> Result<(All, u64), String> {
    let located = |e: Error| match e {
        Error::Parse { line, column, .. } => format!("{line}:{column}"),
        other => format!("{other}"),
    };
    let mut scanner = Scanner::from_reader(Path::new("fuzz.csv"), bytes).map_err(located)?;
    if sized {
        scanner = scanner.with_size(bytes.len() as u64);
    }
    scanner.scan(options, All::default).map_err(located)
}

/// One execution of the `csv` target.
pub fn run(bytes: &[u8]) {
    let one = scan(
        bytes,
        ScanOptions {
            threads: 1,
            // One chunk that holds the whole input (not the 2 MiB default: its buffers cost
            // more than the scan of a small input).
            chunk_bytes: bytes.len() + 1,
        },
        true,
    );
    // The scanner's smallest chunk is 4 KiB: inputs past that are split, on 2 threads (a
    // source of unknown length always goes through the threads). Starting threads costs 50
    // times a small input's scan, so inputs of one chunk take this path one time in 16.
    if bytes.len() > 1 << 12 || bytes.len().is_multiple_of(16) {
        let many = scan(
            bytes,
            ScanOptions {
                threads: 2,
                chunk_bytes: 1,
            },
            false,
        );
        assert_eq!(one, many);
    }
    if let Ok((all, rows)) = &one {
        assert_eq!(all.lines.len() as u64, *rows);
        assert!(all.lines.windows(2).all(|w| w[0] < w[1]), "{:?}", all.lines);
    }

    let text = String::from_utf8_lossy(bytes);
    for labels in [Labels::Required("class"), Labels::Optional("class")] {
        if let Ok(d) = data::parse(Path::new("fuzz.csv"), &text, labels) {
            assert_eq!(d.features.len(), d.rows() * d.width());
            assert_eq!(d.lines.len(), d.rows());
        }
    }
}
