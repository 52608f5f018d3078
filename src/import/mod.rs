//! CSV import: a file, a mapping profile, one transaction. Polars parses the file (all columns as
//! text); a pass with the `csv` tokenizer finds where each record starts (its line number, since
//! quoted fields may span lines) and its field count, so every rejection names its line and a
//! ragged row is rejected instead of being read shifted. Rows go through the mapping engine into
//! the store; a failure anywhere rolls the whole file back.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use polars::prelude::*;

use crate::mapping::{Mapping, MissingColumns};
use crate::store::{Rejection, RunCounts, RunKind, RunMeta, Store, StoreError};

/// Rows above which a progress bar is drawn (on a terminal only).
const PROGRESS_MIN_ROWS: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a CSV text file: {reason}")]
    NotCsv { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    MissingColumns {
        path: PathBuf,
        source: MissingColumns,
    },
    #[error("{path}: CSV could not be parsed: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path}: --strict: {rejected} row(s) rejected, nothing imported; first: line {}, {} = `{}`: {}",
        .first.line, .first.field, .first.value, .first.reason
    )]
    Strict {
        path: PathBuf,
        rejected: u64,
        first: Rejection,
    },
    #[error(
        "{path}: import stopped after {after} rows by the injected fault (GEMBA_FAIL_AFTER_ROWS)"
    )]
    Injected { path: PathBuf, after: u64 },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// How to run an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The `source` of the imported orders; the profile's default when `None`.
    pub source: Option<String>,
    /// Any rejected row fails the whole import.
    pub strict: bool,
    /// Draw a progress bar on stderr when it is a terminal.
    pub progress: bool,
    /// Test hook: fail after this many upserts, to prove a failed import leaves the store whole.
    pub fail_after_rows: Option<u64>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub run_id: i64,
    pub file: PathBuf,
    pub source: String,
    pub counts: RunCounts,
    pub seconds: f64,
    /// Optional columns the profile names that the file lacks (left empty).
    pub absent_columns: Vec<String>,
    /// The first rejections, for the summary (all are stored with the run, up to a cap).
    pub first_rejections: Vec<Rejection>,
}

/// Rows are mapped and written in batches of this many.
const BATCH: usize = 4096;

/// A row after mapping: an order to write, or a rejection to keep.
enum Mapped {
    Order(Box<crate::model::WorkOrder>),
    Rejected(Rejection),
}

/// A file read and split into records, before mapping.
struct Parsed {
    header: Vec<String>,
    frame: DataFrame,
    /// Line on which each data record starts (1-based, the header is line 1 or more).
    lines: Vec<u64>,
    /// Field count of each data record.
    widths: Vec<u32>,
}

/// Imports one CSV file through `mapping` into `store`. Whatever fails, the orders in the store
/// are as they were; the run (with its rejections) is recorded either way.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    mapping: &Mapping,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let source = opts
        .source
        .clone()
        .unwrap_or_else(|| mapping.default_source.clone());
    let meta = RunMeta {
        kind: RunKind::Csv,
        source: source.clone(),
        file: Some(path.display().to_string()),
        profile: Some(mapping.name.clone()),
        started_at: Utc::now(),
    };
    let mut rejections = Vec::new();
    let mut counts = RunCounts::default();
    match run(
        store,
        path,
        mapping,
        opts,
        &meta,
        &mut counts,
        &mut rejections,
    ) {
        Ok((run_id, absent_columns)) => Ok(ImportReport {
            run_id,
            file: path.to_path_buf(),
            source,
            counts,
            seconds: started.elapsed().as_secs_f64(),
            absent_columns,
            first_rejections: rejections,
        }),
        Err(e) => {
            // The data transaction is gone; keep a record of the attempt and why it failed.
            // A store that cannot even take that record already failed with the error we return.
            if !matches!(e, ImportError::Store(_)) {
                counts.upserted = 0;
                let _ = store.record_failed_run(&meta, counts, &e.to_string(), &rejections);
            }
            Err(e)
        }
    }
}

fn run(
    store: &mut Store,
    path: &Path,
    mapping: &Mapping,
    opts: &ImportOptions,
    meta: &RunMeta,
    counts: &mut RunCounts,
    rejections: &mut Vec<Rejection>,
) -> Result<(i64, Vec<String>), ImportError> {
    let t0 = std::time::Instant::now();
    let parsed = parse_file(path, mapping)?;
    tracing::info!(
        "{}: parsed {} rows in {:?}",
        path.display(),
        parsed.frame.height(),
        t0.elapsed()
    );
    let (bound, absent) =
        mapping
            .bind(&parsed.header)
            .map_err(|source| ImportError::MissingColumns {
                path: path.to_path_buf(),
                source,
            })?;
    let columns: Vec<StringChunked> = parsed
        .frame
        .columns()
        .iter()
        .map(|c| c.str().cloned().map(|ca| ca.rechunk().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| ImportError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let arrays: Vec<_> = columns
        .iter()
        .map(|ca| ca.downcast_iter().next().expect("rechunked into one chunk"))
        .collect();
    let header_width = parsed.header.len() as u32;
    let rows = parsed.frame.height();
    let progress = progress_bar(opts.progress && rows >= PROGRESS_MIN_ROWS, rows as u64);
    let mut tx = store.begin_import(meta, false)?;
    let first_keep = 20;
    let mut keep = |tx: &mut crate::store::ImportTx<'_>, r: Rejection| -> Result<(), StoreError> {
        tx.reject(&r)?;
        if rejections.len() < first_keep || opts.strict {
            rejections.push(r);
        }
        Ok(())
    };
    // Two cores, two stages: this thread writes to SQLite while a second one maps the rows.
    let outcome = std::thread::scope(|scope| -> Result<(), ImportError> {
        let (send, recv) = std::sync::mpsc::sync_channel::<Vec<Mapped>>(8);
        let (bound, arrays, parsed, source) = (&bound, &arrays, &parsed, meta.source.as_str());
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for i in 0..rows {
                let line = parsed.lines[i];
                let width = parsed.widths[i];
                let item = if width != header_width {
                    Mapped::Rejected(Rejection {
                        line,
                        field: "(row)".into(),
                        value: format!("{width} fields"),
                        reason: format!(
                            "the row has {width} fields and the header {header_width}: a delimiter inside an unquoted value, or a missing quote?"
                        ),
                    })
                } else {
                    match bound.map_record(source, |slot| arrays[slot].get(i)) {
                        Ok(order) => Mapped::Order(Box::new(order)),
                        Err(fe) => Mapped::Rejected(Rejection {
                            line,
                            field: fe.field.name().to_string(),
                            value: fe.value,
                            reason: fe.reason,
                        }),
                    }
                };
                batch.push(item);
                if batch.len() == BATCH && send.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                    return; // the writer stopped
                }
            }
            if !batch.is_empty() {
                let _ = send.send(batch);
            }
        });
        for batch in recv {
            for item in batch {
                counts.read += 1;
                match item {
                    Mapped::Order(order) => {
                        tx.upsert(*order)?;
                        counts.upserted += 1;
                        if opts.fail_after_rows == Some(counts.upserted) {
                            return Err(ImportError::Injected {
                                path: path.to_path_buf(),
                                after: counts.upserted,
                            });
                        }
                    }
                    Mapped::Rejected(r) => {
                        counts.rejected += 1;
                        keep(&mut tx, r)?;
                    }
                }
            }
            progress.set_position(counts.read);
        }
        Ok(())
    });
    outcome?;
    progress.finish_and_clear();
    tracing::info!(
        "{}: mapped and written in {:?}",
        path.display(),
        t0.elapsed()
    );
    if opts.strict && counts.rejected > 0 {
        return Err(ImportError::Strict {
            path: path.to_path_buf(),
            rejected: counts.rejected,
            first: rejections[0].clone(),
        });
    }
    let run_id = tx.commit(*counts)?;
    tracing::info!("{}: committed at {:?}", path.display(), t0.elapsed());
    rejections.truncate(first_keep);
    Ok((run_id, absent))
}

fn progress_bar(show: bool, len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta} left)",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message("importing");
    bar
}

/// Reads a file into text columns and locates its records.
fn parse_file(path: &Path, mapping: &Mapping) -> Result<Parsed, ImportError> {
    let not_csv = |reason: String| ImportError::NotCsv {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(not_csv("the file is empty".into()));
    }
    if let Some(pos) = bytes.iter().take(1 << 16).position(|&b| b == 0) {
        return Err(not_csv(format!(
            "it holds binary data (a NUL byte at offset {pos}); is it a spreadsheet (.xlsx) rather than CSV?"
        )));
    }
    if let Err(e) = std::str::from_utf8(&bytes) {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(not_csv(format!(
            "line {line} is not UTF-8 text (byte offset {at}); export the file as UTF-8"
        )));
    }
    let delimiter = mapping
        .csv
        .delimiter
        .byte()
        .unwrap_or_else(|| sniff_delimiter(&bytes));

    // Where each record starts and how many fields it has.
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut record = csv::ByteRecord::new();
    let mut header = Vec::new();
    let mut lines = Vec::new();
    let mut widths = Vec::new();
    // Byte ranges of the records; polars reads a blank line as a row of nulls where the
    // tokenizer skips it, so blank lines are cut out before polars sees the file.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut gaps = false;
    let mut end = 0usize;
    let mut first = true;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                // The reported position is where the reader stood, before any blank lines it
                // skipped: step over them to the record's first byte and line.
                let pos = record.position().expect("the csv reader tracks positions");
                let (mut start, mut line) = (pos.byte() as usize, pos.line());
                while let Some(b @ (b'\n' | b'\r')) = bytes.get(start) {
                    line += u64::from(*b == b'\n');
                    start += 1;
                }
                gaps |= start != end;
                end = rdr.position().byte() as usize;
                ranges.push((start, end));
                if first {
                    first = false;
                    header = record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).trim().to_string())
                        .collect();
                } else {
                    lines.push(line);
                    widths.push(record.len() as u32);
                }
            }
            Err(e) => return Err(not_csv(e.to_string())),
        }
    }
    if gaps {
        let mut kept = Vec::with_capacity(bytes.len());
        for (a, b) in ranges {
            kept.extend_from_slice(&bytes[a..b]);
            if !kept.ends_with(b"\n") {
                kept.push(b'\n');
            }
        }
        bytes = kept;
    }
    let empty_names: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    if header.len() > 1 && empty_names.len() == header.len() {
        return Err(not_csv("the header line has no column names".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header
        .iter()
        .find(|h| !h.is_empty() && !seen.insert(h.to_lowercase()))
    {
        return Err(not_csv(format!("the header names column `{dup}` twice")));
    }

    // Polars reads every column as text; the mapping engine types the values. Blank header
    // names get placeholders polars accepts.
    let names: Vec<PlSmallStr> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.is_empty() {
                format!("_column_{}", i + 1).into()
            } else {
                h.as_str().into()
            }
        })
        .collect();
    let schema: Schema = names
        .iter()
        .map(|n| Field::new(n.clone(), DataType::String))
        .collect();
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_infer_schema_length(Some(0))
        .with_rechunk(true)
        .map_parse_options(|o| {
            o.with_separator(delimiter)
                .with_quote_char(Some(b'"'))
                .with_truncate_ragged_lines(true)
                .with_missing_is_null(true)
        })
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| ImportError::Parse {
            path: path.to_path_buf(),
            message: polars_parse_message(&e.to_string(), &lines, &widths, header.len()),
        })?;
    if frame.height() != lines.len() {
        return Err(ImportError::Parse {
            path: path.to_path_buf(),
            message: format!(
                "polars read {} rows where the tokenizer found {} records; please report this file",
                frame.height(),
                lines.len()
            ),
        });
    }
    Ok(Parsed {
        header,
        frame,
        lines,
        widths,
    })
}

/// Polars' parse errors quote the rest of the file; keep the gist, and point at the first
/// record whose shape is off, which is where an unclosed quote starts.
fn polars_parse_message(e: &str, lines: &[u64], widths: &[u32], header_width: usize) -> String {
    let gist = if e.contains("not properly escaped") {
        "a quoted value is not closed (a `\"` opened and never closed, or not doubled inside quotes)".to_string()
    } else {
        let first: String = e.lines().next().unwrap_or(e).chars().take(200).collect();
        first
    };
    match widths.iter().position(|&w| w as usize != header_width) {
        Some(i) => format!(
            "{gist}; look at the record that starts on line {}",
            lines[i]
        ),
        None => gist,
    }
}

/// The delimiter of a file whose profile says `auto`: the most frequent of `,` `;` tab `|` in
/// the header line (outside quotes); a comma when none appears.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in bytes.iter().take(64 * 1024) {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = cands.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .expect("four candidates");
    if *n == 0 { b',' } else { cands[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_header_delimiter() {
        assert_eq!(sniff_delimiter(b"id;title;kind\n1;a,b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"id\ttitle\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c,d\n"), b',');
        assert_eq!(sniff_delimiter(b"id\n"), b',');
    }
}
