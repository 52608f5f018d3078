//! CSV import: a file, a mapping profile, one transaction. Three stages run at once, joined by
//! bounded channels: a reader finds where each record starts with the `csv` tokenizer (its line
//! number, since quoted fields may span lines, and its field count, so every rejection names its
//! line and a ragged row is rejected instead of being read shifted) and has polars parse runs of
//! records as text columns; a mapper turns rows into orders through the mapping engine; this
//! thread writes them to the store. A failure anywhere rolls the whole file back.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use polars::prelude::*;

use crate::config::Config;
use crate::mapping::{Bound, Mapping, MissingColumns, Occurrences};
use crate::metrics::frame::{GatheredOrders, ImportedOrders};
use crate::store::{Rejection, RunCounts, RunKind, RunMeta, Store, StoreError};

/// Files above this size get a progress bar (on a terminal only).
const PROGRESS_MIN_BYTES: u64 = 8 << 20;

/// Records parsed together: the reader cuts the file into runs of this many records, polars
/// parses each while the records before it are mapped and written.
const CHUNK_ROWS: usize = 32 * 1024;

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
    /// Gather the written orders into the metrics frame's columns (with this config) as they
    /// are written, for the metrics of after the import without reloading the store.
    pub gather: Option<Config>,
    /// Records per run the reader hands to polars (`CHUNK_ROWS` when `None`); tests make it
    /// small so records, blank lines and rejections fall on both sides of a run's edge.
    pub chunk_rows: Option<usize>,
}

/// What an import did.
#[derive(Debug)]
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
    /// The written orders, when the options asked to gather them.
    pub gathered: Option<ImportedOrders>,
}

/// Rows are mapped and written in batches of this many.
const BATCH: usize = 4096;

/// A row after mapping: an order to write, or a rejection to keep.
enum Mapped {
    Order(Box<crate::model::WorkOrder>),
    Rejected(Rejection),
}

/// Mapped rows on their way to the writer, with how far into the file the reader is.
struct Batch {
    rows: Vec<Mapped>,
    read_to: u64,
}

/// Records the reader located and polars parsed, on their way to the mapper.
struct Chunk {
    /// One text column per header column, each in one piece.
    columns: Vec<StringChunked>,
    /// Line on which each record starts (1-based).
    lines: Vec<u64>,
    /// Field count of each record.
    widths: Vec<u32>,
    /// Bytes of the file read so far.
    read_to: u64,
}

/// The file in memory, its header read and checked.
struct Opened {
    bytes: Vec<u8>,
    delimiter: u8,
    header: Vec<String>,
    /// Where the records after the header start, and the line they start on.
    body: csv::Position,
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
        Ok((run_id, absent_columns, gathered)) => Ok(ImportReport {
            run_id,
            file: path.to_path_buf(),
            source,
            counts,
            seconds: started.elapsed().as_secs_f64(),
            absent_columns,
            first_rejections: rejections,
            gathered,
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

type RunOutcome = (i64, Vec<String>, Option<ImportedOrders>);

fn run(
    store: &mut Store,
    path: &Path,
    mapping: &Mapping,
    opts: &ImportOptions,
    meta: &RunMeta,
    counts: &mut RunCounts,
    rejections: &mut Vec<Rejection>,
) -> Result<RunOutcome, ImportError> {
    let t0 = Instant::now();
    let file = open_file(path, mapping)?;
    let (bound, absent) =
        mapping
            .bind(&file.header)
            .map_err(|source| ImportError::MissingColumns {
                path: path.to_path_buf(),
                source,
            })?;
    let size = file.bytes.len() as u64;
    let progress = progress_bar(opts.progress && size >= PROGRESS_MIN_BYTES, size);
    let mut tx = store.begin_import(meta, false)?;
    let first_keep = 20;
    // Three stages on two cores: the reader and the mapper take turns on one while this
    // thread writes to SQLite on the other. A stage that stops drops its end of the channel,
    // and the stage before it stops too. The mapper finishes the gathered frame while this
    // thread writes the last rows and commits.
    let (run_id, gathered) = std::thread::scope(|scope| -> Result<_, ImportError> {
        let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<Result<Chunk, ImportError>>(2);
        let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<Result<Batch, ImportError>>(8);
        let file = &file;
        let chunk_rows = opts.chunk_rows.unwrap_or(CHUNK_ROWS).max(1);
        scope.spawn(move || read_chunks(path, file, chunk_rows, &chunk_tx));
        let mut keep =
            |tx: &mut crate::store::ImportTx<'_>, r: Rejection| -> Result<(), StoreError> {
                tx.reject(&r)?;
                if rejections.len() < first_keep || opts.strict {
                    rejections.push(r);
                }
                Ok(())
            };
        let mapper = scope.spawn(|| {
            let gathering = map_chunks(&bound, &meta.source, file, opts, chunk_rx, batch_tx)?;
            gathering
                .finish()
                .inspect_err(|e| {
                    tracing::warn!(
                        "{}: the imported orders could not be gathered for the metrics ({e}); they will be reloaded",
                        path.display()
                    )
                })
                .ok()
        });
        for batch in batch_rx {
            let batch = batch?;
            for item in batch.rows {
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
            progress.set_position(batch.read_to);
        }
        progress.finish_and_clear();
        tracing::info!(
            "{}: read, mapped and written in {:?}",
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
        Ok((run_id, mapper.join().expect("the mapper does not panic")))
    })?;
    rejections.truncate(first_keep);
    Ok((run_id, absent, gathered))
}

/// The mapper stage: rows of each chunk through the mapping engine, in file order.
fn map_chunks(
    bound: &Bound<'_>,
    source: &str,
    file: &Opened,
    opts: &ImportOptions,
    chunks: std::sync::mpsc::Receiver<Result<Chunk, ImportError>>,
    batches: std::sync::mpsc::SyncSender<Result<Batch, ImportError>>,
) -> Option<GatheredOrders> {
    let header_width = file.header.len() as u32;
    let mut gathered = opts
        .gather
        .as_ref()
        .map(|cfg| GatheredOrders::new(source, cfg));
    // Rows of one file whose derived ids repeat are told apart by their occurrence.
    let mut derived = bound.derives_id().then(Occurrences::default);
    for chunk in chunks {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = batches.send(Err(e));
                return None;
            }
        };
        let arrays: Vec<_> = chunk
            .columns
            .iter()
            .map(|ca| ca.downcast_iter().next().expect("one piece"))
            .collect();
        let mut rows = Vec::with_capacity(BATCH);
        for (i, (&line, &width)) in chunk.lines.iter().zip(&chunk.widths).enumerate() {
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
                let get = |slot: usize| arrays[slot].get(i);
                let id = derived
                    .as_mut()
                    .and_then(|occ| bound.derived_id(get).map(|id| occ.tell_apart(id)));
                match bound.map_record_as(source, get, id) {
                    Ok(order) => {
                        if let Some(g) = &mut gathered {
                            g.push(&order);
                        }
                        Mapped::Order(Box::new(order))
                    }
                    Err(fe) => Mapped::Rejected(Rejection {
                        line,
                        field: fe.field.name().to_string(),
                        value: fe.value,
                        reason: fe.reason,
                    }),
                }
            };
            rows.push(item);
            if rows.len() == BATCH {
                let rows = std::mem::replace(&mut rows, Vec::with_capacity(BATCH));
                if batches
                    .send(Ok(Batch {
                        rows,
                        read_to: chunk.read_to,
                    }))
                    .is_err()
                {
                    return None; // the writer stopped
                }
            }
        }
        if !rows.is_empty()
            && batches
                .send(Ok(Batch {
                    rows,
                    read_to: chunk.read_to,
                }))
                .is_err()
        {
            return None;
        }
    }
    gathered
}

fn progress_bar(show: bool, len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message("importing");
    bar
}

/// Reads a file and its header: what fails here fails at once, before anything is written.
fn open_file(path: &Path, mapping: &Mapping) -> Result<Opened, ImportError> {
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
    let delimiter = mapping
        .csv
        .delimiter
        .byte()
        .unwrap_or_else(|| sniff_delimiter(&bytes));
    let mut rdr = reader(bytes.as_slice(), delimiter);
    let mut record = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut record)
        .map_err(|e| not_csv(e.to_string()))?
    {
        return Err(not_csv("the file is empty".into()));
    }
    let body = rdr.position().clone();
    let header_end = body.byte() as usize;
    check_utf8(&bytes, 0, header_end, 1).map_err(not_csv)?;
    let header: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let empty_names = header.iter().filter(|h| h.is_empty()).count();
    if header.len() > 1 && empty_names == header.len() {
        return Err(not_csv("the header line has no column names".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header
        .iter()
        .find(|h| !h.is_empty() && !seen.insert(h.to_lowercase()))
    {
        return Err(not_csv(format!("the header names column `{dup}` twice")));
    }
    Ok(Opened {
        bytes,
        delimiter,
        header,
        body,
    })
}

fn reader<R: std::io::Read>(bytes: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// `bytes[from..to]`, which starts on `line`, as UTF-8; else where it is not.
fn check_utf8(bytes: &[u8], from: usize, to: usize, line: u64) -> Result<(), String> {
    match std::str::from_utf8(&bytes[from..to]) {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = from + e.valid_up_to();
            let line = line + bytes[from..at].iter().filter(|&&b| b == b'\n').count() as u64;
            Err(format!(
                "line {line} is not UTF-8 text (byte offset {at}); export the file as UTF-8"
            ))
        }
    }
}

/// The reader stage: locates runs of `chunk_rows` records after the header and has polars
/// parse each into text columns (the mapping engine types the values).
fn read_chunks(
    path: &Path,
    file: &Opened,
    chunk_rows: usize,
    chunks: &std::sync::mpsc::SyncSender<Result<Chunk, ImportError>>,
) {
    let bytes = file.bytes.as_slice();
    let mut rdr = reader(Cursor::new(bytes), file.delimiter);
    if let Err(e) = rdr.seek_raw(
        std::io::SeekFrom::Start(file.body.byte()),
        file.body.clone(),
    ) {
        let _ = chunks.send(Err(ImportError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        }));
        return;
    }
    // Polars reads every column as text; blank header names get placeholders it accepts.
    let schema: Schema = file
        .header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name: PlSmallStr = if h.is_empty() {
                format!("_column_{}", i + 1).into()
            } else {
                h.as_str().into()
            };
            Field::new(name, DataType::String)
        })
        .collect();
    let schema = Arc::new(schema);
    let mut record = csv::ByteRecord::new();
    let mut end = file.body.byte() as usize;
    loop {
        let mut lines = Vec::with_capacity(chunk_rows);
        let mut widths = Vec::with_capacity(chunk_rows);
        // Byte ranges of the records; polars reads a blank line as a row of nulls where the
        // tokenizer skips it, so blank lines are cut out before polars sees the records.
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(chunk_rows);
        let mut gaps = false;
        while lines.len() < chunk_rows {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    // The reported position is where the reader stood, before any blank lines
                    // it skipped: step over them to the record's first byte and line.
                    let pos = record.position().expect("the csv reader tracks positions");
                    let (mut start, mut line) = (pos.byte() as usize, pos.line());
                    while let Some(b @ (b'\n' | b'\r')) = bytes.get(start) {
                        line += u64::from(*b == b'\n');
                        start += 1;
                    }
                    gaps |= start != end && !ranges.is_empty();
                    end = rdr.position().byte() as usize;
                    ranges.push((start, end));
                    lines.push(line);
                    widths.push(record.len() as u32);
                }
                Err(e) => {
                    let _ = chunks.send(Err(ImportError::NotCsv {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    }));
                    return;
                }
            }
        }
        if ranges.is_empty() {
            return;
        }
        let parsed = parse_chunk(
            bytes,
            &ranges,
            gaps,
            file.delimiter,
            &schema,
            &lines,
            &widths,
        );
        let chunk = parsed.map_err(|e| match e {
            ChunkError::NotUtf8(reason) => ImportError::NotCsv {
                path: path.to_path_buf(),
                reason,
            },
            ChunkError::Parse(message) => ImportError::Parse {
                path: path.to_path_buf(),
                message,
            },
        });
        let chunk = chunk.map(|columns| Chunk {
            columns,
            lines,
            widths,
            read_to: end as u64,
        });
        let failed = chunk.is_err();
        if chunks.send(chunk).is_err() || failed {
            return;
        }
    }
}

enum ChunkError {
    NotUtf8(String),
    Parse(String),
}

/// Polars' parse of the records at `ranges` (contiguous unless `gaps`), as text columns.
fn parse_chunk(
    bytes: &[u8],
    ranges: &[(usize, usize)],
    gaps: bool,
    delimiter: u8,
    schema: &SchemaRef,
    lines: &[u64],
    widths: &[u32],
) -> Result<Vec<StringChunked>, ChunkError> {
    let (first, last) = (ranges[0].0, ranges[ranges.len() - 1].1);
    check_utf8(bytes, first, last, lines[0]).map_err(ChunkError::NotUtf8)?;
    let joined;
    let text: &[u8] = if gaps {
        let mut kept = Vec::with_capacity(last - first);
        for &(a, b) in ranges {
            kept.extend_from_slice(&bytes[a..b]);
            if !kept.ends_with(b"\n") {
                kept.push(b'\n');
            }
        }
        joined = kept;
        &joined
    } else {
        &bytes[first..last]
    };
    let frame = CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(schema.clone()))
        .with_infer_schema_length(Some(0))
        .with_rechunk(true)
        .with_n_threads(Some(1))
        .map_parse_options(|o| {
            o.with_separator(delimiter)
                .with_quote_char(Some(b'"'))
                .with_truncate_ragged_lines(true)
                .with_missing_is_null(true)
        })
        .into_reader_with_file_handle(Cursor::new(text))
        .finish()
        .map_err(|e| {
            ChunkError::Parse(polars_parse_message(
                &e.to_string(),
                lines,
                widths,
                schema.len(),
            ))
        })?;
    if frame.height() != lines.len() {
        return Err(ChunkError::Parse(format!(
            "polars read {} rows where the tokenizer found {} records; please report this file",
            frame.height(),
            lines.len()
        )));
    }
    frame
        .columns()
        .iter()
        .map(|c| c.str().map(|ca| ca.rechunk().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| ChunkError::Parse(e.to_string()))
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
