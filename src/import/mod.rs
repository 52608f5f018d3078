//! File import: a CSV file or a workbook, a mapping profile, one transaction. Three stages run
//! at once, joined by bounded channels: a reader turns runs of rows into text columns (for CSV
//! it finds where each record starts with the `csv` tokenizer, its line number, since quoted
//! fields may span lines, and its field count, so every rejection names its line and a ragged
//! row is rejected instead of being read shifted, and has polars parse the records; for a
//! workbook it reads the sheet's cells with `calamine`, see [`workbook`]); a mapper turns rows
//! into orders through the mapping engine; this thread writes them to the store. A failure
//! anywhere rolls the whole file back. A dry run does all of it but the writing.

pub mod workbook;

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
    #[error("{path}: {reason}")]
    Workbook { path: PathBuf, reason: String },
    #[error("{path}: --sheet `{sheet}` is for workbooks; this is a CSV file")]
    SheetOfCsv { path: PathBuf, sheet: String },
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
    /// The sheet of a workbook to read (the first when `None`).
    pub sheet: Option<String>,
    /// Map every row and report what an import would do, without writing anything.
    pub dry_run: bool,
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    /// The stored run; `None` for a dry run.
    pub run_id: Option<i64>,
    pub file: PathBuf,
    /// The sheet read, for a workbook: rejections' `line` is then its row number.
    pub sheet: Option<String>,
    pub source: String,
    pub counts: RunCounts,
    pub seconds: f64,
    /// Optional columns the profile names that the file lacks (left empty).
    pub absent_columns: Vec<String>,
    /// The first rejections, for the summary (all are stored with the run, up to a cap).
    pub first_rejections: Vec<Rejection>,
    /// The written orders, when the options asked to gather them.
    pub gathered: Option<ImportedOrders>,
    /// A dry run's distinct values per mapped field, in the profile's order.
    pub distinct: Vec<Distinct>,
}

/// The values one mapped column holds, as a dry run found them.
#[derive(Debug, Clone, PartialEq)]
pub struct Distinct {
    pub field: crate::model::Field,
    pub column: String,
    /// Distinct non-blank values seen (counting stops at [`DISTINCT_CAP`]).
    pub count: usize,
    /// The most frequent values with their number of rows, most frequent first.
    pub top: Vec<(String, u64)>,
    /// Rows where the column is blank.
    pub blank: u64,
}

/// Distinct values counted per column in a dry run; past it, new values are not counted.
pub const DISTINCT_CAP: usize = 10_000;
/// Values a dry run lists per column.
const DISTINCT_TOP: usize = 12;

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

/// A CSV file in memory, its header read and checked.
struct CsvFile {
    bytes: Vec<u8>,
    delimiter: u8,
    header: Vec<String>,
    /// Where the records after the header start, and the line they start on.
    body: csv::Position,
}

/// A workbook's sheet in memory, its header found and checked.
struct SheetFile {
    sheet: workbook::Sheet,
    header: Vec<String>,
    /// The sheet row of the header; the orders are in the rows below it.
    header_row: u32,
}

enum Opened {
    Csv(CsvFile),
    Sheet(SheetFile),
}

impl Opened {
    fn header(&self) -> &[String] {
        match self {
            Opened::Csv(f) => &f.header,
            Opened::Sheet(s) => &s.header,
        }
    }

    /// How far the reader has to go: bytes of a CSV file, rows of a sheet.
    fn size(&self) -> u64 {
        match self {
            Opened::Csv(f) => f.bytes.len() as u64,
            Opened::Sheet(s) => s.sheet.rows().map_or(0, |r| u64::from(*r.end())),
        }
    }
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
    let mut meta = RunMeta {
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
        &mut meta,
        &mut counts,
        &mut rejections,
    ) {
        Ok(out) => Ok(ImportReport {
            run_id: out.run_id,
            file: path.to_path_buf(),
            sheet: out.sheet,
            source,
            counts,
            seconds: started.elapsed().as_secs_f64(),
            absent_columns: out.absent,
            first_rejections: rejections,
            gathered: out.gathered,
            distinct: out.distinct,
        }),
        Err(e) => {
            // The data transaction is gone; keep a record of the attempt and why it failed.
            // A store that cannot even take that record already failed with the error we return.
            // A dry run leaves no trace.
            if !matches!(e, ImportError::Store(_)) && !opts.dry_run {
                counts.upserted = 0;
                let _ = store.record_failed_run(&meta, counts, &e.to_string(), &rejections);
            }
            Err(e)
        }
    }
}

struct RunOutcome {
    run_id: Option<i64>,
    sheet: Option<String>,
    absent: Vec<String>,
    gathered: Option<ImportedOrders>,
    distinct: Vec<Distinct>,
}

/// What the mapper hands back when the rows are through.
#[derive(Default)]
struct MapperOutcome {
    gathered: Option<ImportedOrders>,
    distinct: Vec<Distinct>,
}

fn run(
    store: &mut Store,
    path: &Path,
    mapping: &Mapping,
    opts: &ImportOptions,
    meta: &mut RunMeta,
    counts: &mut RunCounts,
    rejections: &mut Vec<Rejection>,
) -> Result<RunOutcome, ImportError> {
    let t0 = Instant::now();
    let file = open_file(path, mapping, opts.sheet.as_deref())?;
    let sheet = match &file {
        Opened::Sheet(s) => Some(s.sheet.name.clone()),
        Opened::Csv(_) => None,
    };
    if let Some(name) = &sheet {
        meta.file = Some(format!("{} (sheet {name})", path.display()));
    }
    let (bound, absent) =
        mapping
            .bind(file.header())
            .map_err(|source| ImportError::MissingColumns {
                path: path.to_path_buf(),
                source,
            })?;
    let size = file.size();
    let progress = progress_bar(opts.progress && size >= PROGRESS_MIN_BYTES, size);
    let mut tx = if opts.dry_run {
        None
    } else {
        Some(store.begin_import(meta, false)?)
    };
    let first_keep = 20;
    // Three stages on two cores: the reader and the mapper take turns on one while this
    // thread writes to SQLite on the other. A stage that stops drops its end of the channel,
    // and the stage before it stops too. The mapper finishes the gathered frame while this
    // thread writes the last rows and commits.
    let (run_id, mapped) = std::thread::scope(|scope| -> Result<_, ImportError> {
        let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<Result<Chunk, ImportError>>(2);
        let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<Result<Batch, ImportError>>(8);
        let file = &file;
        let chunk_rows = opts.chunk_rows.unwrap_or(CHUNK_ROWS).max(1);
        let date_slots = bound.date_slots();
        let cells = workbook::CellRules {
            dates: (0..file.header().len())
                .map(|i| date_slots.contains(&i))
                .collect(),
            decimal_comma: mapping.csv.decimal_comma,
        };
        scope.spawn(move || match file {
            Opened::Csv(f) => read_chunks(path, f, chunk_rows, &chunk_tx),
            Opened::Sheet(s) => read_sheet(s, &cells, chunk_rows, &chunk_tx),
        });
        let mut keep =
            |tx: &mut Option<crate::store::ImportTx<'_>>, r: Rejection| -> Result<(), StoreError> {
                if let Some(tx) = tx {
                    tx.reject(&r)?;
                }
                if rejections.len() < first_keep || opts.strict {
                    rejections.push(r);
                }
                Ok(())
            };
        let source = meta.source.clone();
        let mapper = scope.spawn(move || {
            let (gathering, distinct) =
                map_chunks(&bound, &source, file, opts, chunk_rx, batch_tx)?;
            let gathered = gathering.and_then(|g| {
                g.finish()
                    .inspect_err(|e| {
                        tracing::warn!(
                            "{}: the imported orders could not be gathered for the metrics ({e}); they will be reloaded",
                            path.display()
                        )
                    })
                    .ok()
            });
            Some(MapperOutcome { gathered, distinct })
        });
        for batch in batch_rx {
            let batch = batch?;
            for item in batch.rows {
                counts.read += 1;
                match item {
                    Mapped::Order(order) => {
                        if let Some(tx) = &mut tx {
                            tx.upsert(*order)?;
                        }
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
        if opts.strict && counts.rejected > 0 && !opts.dry_run {
            return Err(ImportError::Strict {
                path: path.to_path_buf(),
                rejected: counts.rejected,
                first: rejections[0].clone(),
            });
        }
        let run_id = tx.map(|tx| tx.commit(*counts)).transpose()?;
        tracing::info!("{}: committed at {:?}", path.display(), t0.elapsed());
        let mapped = mapper.join().expect("the mapper does not panic");
        Ok((run_id, mapped.unwrap_or_default()))
    })?;
    rejections.truncate(first_keep);
    Ok(RunOutcome {
        run_id,
        sheet,
        absent,
        gathered: mapped.gathered,
        distinct: mapped.distinct,
    })
}

/// The mapper stage: rows of each chunk through the mapping engine, in file order. `None` when
/// a stage stopped; else the gathered orders (when asked for) and a dry run's distinct values.
fn map_chunks(
    bound: &Bound<'_>,
    source: &str,
    file: &Opened,
    opts: &ImportOptions,
    chunks: std::sync::mpsc::Receiver<Result<Chunk, ImportError>>,
    batches: std::sync::mpsc::SyncSender<Result<Batch, ImportError>>,
) -> Option<(Option<GatheredOrders>, Vec<Distinct>)> {
    let header = file.header();
    let header_width = header.len() as u32;
    let mut gathered = opts
        .gather
        .as_ref()
        .map(|cfg| GatheredOrders::new(source, cfg));
    let mut values = opts.dry_run.then(|| ValueCounts::new(bound, header));
    // A rejection in a sheet names the column's letter and name too.
    let locate = |field: crate::model::Field| -> String {
        let Opened::Sheet(s) = file else {
            return String::new();
        };
        match bound.sourced().find(|(f, _)| *f == field) {
            Some((_, slot)) => format!(
                " (sheet `{}`, column {} `{}`)",
                s.sheet.name,
                s.sheet.column_letter(slot),
                header[slot]
            ),
            None => format!(" (sheet `{}`)", s.sheet.name),
        }
    };
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
            let get = |slot: usize| arrays[slot].get(i);
            if let Some(v) = &mut values {
                v.count(get);
            }
            let id = derived
                .as_mut()
                .and_then(|occ| bound.derived_id(get).map(|id| occ.tell_apart(id)));
            let mapped = bound.map_record_as(source, get, id);
            let item = match mapped {
                // A row of the wrong width is read shifted: its values are not what their
                // columns say, even where they map. The field that fails says how it shows.
                _ if width != header_width => {
                    let shape = format!(
                        "the row has {width} fields and the header {header_width}: a delimiter inside an unquoted value, or a missing quote?"
                    );
                    Mapped::Rejected(match mapped {
                        Err(fe) => Rejection {
                            line,
                            field: fe.field.name().to_string(),
                            value: fe.value,
                            reason: format!("{}; {shape}", fe.reason),
                        },
                        Ok(_) => Rejection {
                            line,
                            field: "(row)".into(),
                            value: format!("{width} fields"),
                            reason: shape,
                        },
                    })
                }
                Ok(order) => {
                    if let Some(g) = &mut gathered {
                        g.push(&order);
                    }
                    Mapped::Order(Box::new(order))
                }
                Err(fe) => Mapped::Rejected(Rejection {
                    line,
                    reason: format!("{}{}", fe.reason, locate(fe.field)),
                    field: fe.field.name().to_string(),
                    value: fe.value,
                }),
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
    Some((
        gathered,
        values.map(ValueCounts::finish).unwrap_or_default(),
    ))
}

/// A dry run's count of the values in each mapped column.
struct ValueCounts {
    columns: Vec<(crate::model::Field, usize, String)>,
    seen: Vec<std::collections::HashMap<String, u64>>,
    blank: Vec<u64>,
}

impl ValueCounts {
    fn new(bound: &Bound<'_>, header: &[String]) -> ValueCounts {
        let columns: Vec<_> = bound
            .sourced()
            .map(|(f, slot)| (f, slot, header[slot].clone()))
            .collect();
        ValueCounts {
            seen: vec![Default::default(); columns.len()],
            blank: vec![0; columns.len()],
            columns,
        }
    }

    fn count<'r>(&mut self, get: impl Fn(usize) -> Option<&'r str>) {
        for (i, (_, slot, _)) in self.columns.iter().enumerate() {
            let v = get(*slot).map(str::trim).unwrap_or("");
            if v.is_empty() {
                self.blank[i] += 1;
                continue;
            }
            let seen = &mut self.seen[i];
            if let Some(n) = seen.get_mut(v) {
                *n += 1;
            } else if seen.len() < DISTINCT_CAP {
                seen.insert(v.to_string(), 1);
            }
        }
    }

    fn finish(self) -> Vec<Distinct> {
        self.columns
            .into_iter()
            .zip(self.seen)
            .zip(self.blank)
            .map(|(((field, _, column), seen), blank)| {
                let count = seen.len();
                let mut top: Vec<(String, u64)> = seen.into_iter().collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                top.truncate(DISTINCT_TOP);
                Distinct {
                    field,
                    column,
                    count,
                    top,
                    blank,
                }
            })
            .collect()
    }
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
fn open_file(path: &Path, mapping: &Mapping, sheet: Option<&str>) -> Result<Opened, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if workbook::is_workbook(path, &bytes[..bytes.len().min(8)]) {
        return open_sheet(path, mapping, bytes, sheet).map(Opened::Sheet);
    }
    if let Some(sheet) = sheet {
        return Err(ImportError::SheetOfCsv {
            path: path.to_path_buf(),
            sheet: sheet.to_string(),
        });
    }
    open_csv(path, mapping, bytes).map(Opened::Csv)
}

/// Rows looked at for the header when the profile does not say which row holds it.
const HEADER_SEARCH_ROWS: usize = 50;

/// Which of the first `rows` is the header: `[csv] header_row` when the profile sets it, else
/// the first row that names every column the profile needs, else the first that looks like a
/// header (see [`guess_header`]), else the first (and binding it says what is missing).
/// `numbers` are the rows' line (CSV) or row (sheet) numbers.
fn find_header(rows: &[Vec<String>], numbers: &[u64], mapping: &Mapping) -> Result<usize, String> {
    if let Some(n) = mapping.csv.header_row {
        return numbers.iter().position(|&l| l == u64::from(n)).ok_or_else(|| {
            format!(
                "the profile's csv.header_row = {n}, and no row of the first {} starts there (they start on {})",
                rows.len(),
                numbers
                    .iter()
                    .take(8)
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    if let Some(i) = rows.iter().position(|r| mapping.bind(r).is_ok()) {
        return Ok(i);
    }
    Ok(guess_header(rows).unwrap_or(0))
}

fn filled(row: &[String]) -> usize {
    row.iter().filter(|c| !c.trim().is_empty()).count()
}

/// The first of `rows` that looks like column names: at least two cells and half the widest
/// row's, none of them a number (a title block's lines are one or two cells; data rows hold
/// numbers).
fn guess_header<R: AsRef<[String]>>(rows: &[R]) -> Option<usize> {
    let widest = rows.iter().map(|r| filled(r.as_ref())).max().unwrap_or(0);
    rows.iter().position(|r| {
        let row = r.as_ref();
        let n = filled(row);
        n >= 2
            && 2 * n >= widest
            && row
                .iter()
                .all(|c| c.trim().is_empty() || c.trim().parse::<f64>().is_err())
    })
}

/// A CSV record's fields as trimmed text.
fn record_texts(record: &csv::ByteRecord) -> Vec<String> {
    record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect()
}

/// Checks a header's names: some, and none twice.
fn check_header(header: &[String]) -> Result<(), String> {
    let empty_names = header.iter().filter(|h| h.is_empty()).count();
    if empty_names == header.len() {
        return Err("the header row has no column names".into());
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header
        .iter()
        .find(|h| !h.is_empty() && !seen.insert(h.to_lowercase()))
    {
        return Err(format!("the header names column `{dup}` twice"));
    }
    Ok(())
}

/// Opens a workbook's sheet and finds its header row.
fn open_sheet(
    path: &Path,
    mapping: &Mapping,
    bytes: Vec<u8>,
    sheet: Option<&str>,
) -> Result<SheetFile, ImportError> {
    let fail = |reason: String| ImportError::Workbook {
        path: path.to_path_buf(),
        reason,
    };
    let sheet = workbook::open(bytes, sheet).map_err(fail)?;
    let Some(rows) = sheet.rows() else {
        return Err(fail(format!("sheet `{}` is empty", sheet.name)));
    };
    let first = *rows.start();
    let mut cells = Vec::new();
    let mut head: Vec<Vec<String>> = rows
        .clone()
        .take(HEADER_SEARCH_ROWS)
        .map(|row| sheet.row_strings(row, &mut cells))
        .collect();
    let numbers: Vec<u64> = (0..head.len() as u64)
        .map(|i| u64::from(first) + i)
        .collect();
    let at = find_header(&head, &numbers, mapping)
        .map_err(|r| fail(format!("sheet `{}`: {r}", sheet.name)))?;
    let header = head.swap_remove(at);
    check_header(&header).map_err(|r| {
        fail(format!(
            "sheet `{}`, row {}: {r}",
            sheet.name,
            first + at as u32
        ))
    })?;
    Ok(SheetFile {
        header_row: first + at as u32,
        header,
        sheet,
    })
}

/// The reader stage of a workbook: runs of `chunk_rows` rows below the header as text columns;
/// blank rows are skipped, as blank lines of a CSV file are.
fn read_sheet(
    file: &SheetFile,
    rules: &workbook::CellRules,
    chunk_rows: usize,
    chunks: &std::sync::mpsc::SyncSender<Result<Chunk, ImportError>>,
) {
    let width = file.header.len();
    let last = file.sheet.rows().map_or(0, |r| *r.end());
    let mut row = file.header_row + 1;
    let mut cells = Vec::with_capacity(width);
    while row <= last {
        let mut columns: Vec<Vec<Option<String>>> =
            (0..width).map(|_| Vec::with_capacity(chunk_rows)).collect();
        let mut lines = Vec::with_capacity(chunk_rows);
        while row <= last && lines.len() < chunk_rows {
            file.sheet.row_text(row, rules, &mut cells);
            if cells
                .iter()
                .any(|c| c.as_deref().is_some_and(|t| !t.trim().is_empty()))
            {
                for (col, cell) in columns.iter_mut().zip(cells.drain(..)) {
                    col.push(cell);
                }
                lines.push(u64::from(row));
            }
            row += 1;
        }
        if lines.is_empty() {
            return;
        }
        let chunk = Chunk {
            columns: columns
                .iter()
                .map(|col| col.iter().map(Option::as_deref).collect::<StringChunked>())
                .collect(),
            widths: vec![width as u32; lines.len()],
            lines,
            read_to: u64::from(row - 1),
        };
        if chunks.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// Reads a CSV file's header: the first line, or the row `find_header` picks.
fn open_csv(path: &Path, mapping: &Mapping, mut bytes: Vec<u8>) -> Result<CsvFile, ImportError> {
    let not_csv = |reason: String| ImportError::NotCsv {
        path: path.to_path_buf(),
        reason,
    };
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
    // The first records, each with the line it starts on and where the next one starts.
    let mut head: Vec<Vec<String>> = Vec::new();
    let mut ends: Vec<(u64, csv::Position)> = Vec::new();
    while head.len() < HEADER_SEARCH_ROWS
        && rdr
            .read_byte_record(&mut record)
            .map_err(|e| not_csv(e.to_string()))?
    {
        let line = record.position().map_or(1, |p| p.line());
        head.push(record_texts(&record));
        ends.push((line, rdr.position().clone()));
        // The usual case: the first line names the profile's columns.
        if head.len() == 1 && mapping.csv.header_row.is_none() && mapping.bind(&head[0]).is_ok() {
            break;
        }
    }
    if head.is_empty() {
        return Err(not_csv("the file is empty".into()));
    }
    let numbers: Vec<u64> = ends.iter().map(|(line, _)| *line).collect();
    let at = find_header(&head, &numbers, mapping).map_err(not_csv)?;
    let body = ends[at].1.clone();
    // The whole file, before any record is read: text that is not UTF-8 anywhere fails the file
    // at once, and as the same first line whatever runs the records are parsed in.
    check_utf8(&bytes, 0, bytes.len(), 1).map_err(not_csv)?;
    let header = head.swap_remove(at);
    if header.len() > 1 || at > 0 {
        check_header(&header).map_err(|r| not_csv(format!("line {}: {r}", ends[at].0)))?;
    }
    Ok(CsvFile {
        bytes,
        delimiter,
        header,
        body,
    })
}

/// Rows `gemba profile new` reads below the header.
pub const SAMPLE_ROWS: usize = 2000;

/// The header and the first `max_rows` rows of a CSV file or a workbook's sheet, as text, for
/// drafting a profile. The header is the first row that looks like one (a title block above it
/// is skipped).
pub fn sample(
    path: &Path,
    sheet: Option<&str>,
    max_rows: usize,
) -> Result<crate::mapping::draft::Sample, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    let (origin, delimiter) = if workbook::is_workbook(path, &bytes[..bytes.len().min(8)]) {
        let s = workbook::open(bytes, sheet).map_err(|reason| ImportError::Workbook {
            path: path.to_path_buf(),
            reason,
        })?;
        let mut cells = Vec::new();
        for row in s
            .rows()
            .into_iter()
            .flatten()
            .take(max_rows + HEADER_SEARCH_ROWS)
        {
            let texts = s.row_strings(row, &mut cells);
            if texts.iter().any(|t| !t.is_empty()) {
                rows.push((u64::from(row), texts));
            }
        }
        (format!("{name}, sheet {}", s.name), None)
    } else {
        if sheet.is_some() {
            return Err(ImportError::SheetOfCsv {
                path: path.to_path_buf(),
                sheet: sheet.unwrap_or_default().to_string(),
            });
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        check_utf8(bytes, 0, bytes.len(), 1).map_err(|reason| ImportError::NotCsv {
            path: path.to_path_buf(),
            reason,
        })?;
        let delimiter = sniff_delimiter(bytes);
        let mut rdr = reader(bytes, delimiter);
        let mut record = csv::ByteRecord::new();
        while rows.len() < max_rows + HEADER_SEARCH_ROWS
            && rdr
                .read_byte_record(&mut record)
                .map_err(|e| ImportError::NotCsv {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?
        {
            let line = record.position().map_or(1, |p| p.line());
            rows.push((line, record_texts(&record)));
        }
        (name, Some(delimiter as char))
    };
    let search: Vec<&[String]> = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .map(|(_, r)| r.as_slice())
        .collect();
    let at = guess_header(&search).ok_or_else(|| ImportError::NotCsv {
        path: path.to_path_buf(),
        reason: "no row among the first ones looks like column names".into(),
    })?;
    let header_row = (at > 0 || rows[0].0 > 1).then_some(rows[at].0);
    let mut rest = rows.into_iter().skip(at);
    let header = rest.next().map(|(_, h)| h).unwrap_or_default();
    check_header(&header).map_err(|reason| ImportError::NotCsv {
        path: path.to_path_buf(),
        reason,
    })?;
    // Rows of another width than the header are read shifted: they would put text among the
    // codes, so the sample leaves them out and says where they are.
    let (rows, ragged): (Vec<_>, Vec<_>) = rest
        .take(max_rows)
        .partition(|(_, r)| delimiter.is_none() || r.len() == header.len());
    Ok(crate::mapping::draft::Sample {
        header,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        ragged: ragged.into_iter().map(|(line, _)| line).collect(),
        origin,
        header_row,
        delimiter,
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
    file: &CsvFile,
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
        let parsed = parse_chunk(bytes, &ranges, gaps, file.delimiter, &schema, &lines);
        let chunk = parsed.map_err(|message| ImportError::Parse {
            path: path.to_path_buf(),
            message,
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

/// Polars' parse of the records at `ranges` (contiguous unless `gaps`), as text columns; the
/// error is what to tell the user. The file is UTF-8 (`open_file` checked all of it).
fn parse_chunk(
    bytes: &[u8],
    ranges: &[(usize, usize)],
    gaps: bool,
    delimiter: u8,
    schema: &SchemaRef,
    lines: &[u64],
) -> Result<Vec<StringChunked>, String> {
    let (first, last) = (ranges[0].0, ranges[ranges.len() - 1].1);
    // A quoted value never closed runs to the end of the file: it can only be the last record,
    // and it fails the file whichever run it falls in.
    if last == bytes.len() && ends_in_quotes(&bytes[ranges[ranges.len() - 1].0..last], delimiter) {
        return Err(format!(
            "a quoted value is not closed (a `\"` opened and never closed, or not doubled inside quotes); look at the record that starts on line {}",
            lines[lines.len() - 1]
        ));
    }
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
        .finish();
    // The tokenizer decides where records are. Polars reads a `"` inside an unquoted value as
    // the start of a quoted one, so on such a run it fails or finds other rows; then the run's
    // columns are built from the tokenizer's own fields. The outcome is the same whatever runs
    // the file is cut into; only a quoted value never closed fails the file.
    let frame = match frame {
        Ok(f) if f.height() == lines.len() => f,
        _ => return Ok(columns_of_records(bytes, ranges, delimiter, schema)),
    };
    frame
        .columns()
        .iter()
        .map(|c| c.str().map(|ca| ca.rechunk().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// The text columns of the records at `ranges` as the tokenizer reads them: a value per header
/// column, null where a record is short or a value empty (as polars gives them).
fn columns_of_records(
    bytes: &[u8],
    ranges: &[(usize, usize)],
    delimiter: u8,
    schema: &SchemaRef,
) -> Vec<StringChunked> {
    let width = schema.len();
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(ranges.len()); width];
    let mut record = csv::ByteRecord::new();
    for &(a, b) in ranges {
        let mut rdr = reader(Cursor::new(&bytes[a..b]), delimiter);
        let read = rdr.read_byte_record(&mut record).unwrap_or(false);
        for (i, column) in values.iter_mut().enumerate() {
            let field = if read { record.get(i) } else { None };
            column.push(
                field
                    .filter(|f| !f.is_empty())
                    .map(|f| String::from_utf8_lossy(f).into_owned()),
            );
        }
    }
    schema
        .iter_names()
        .zip(values)
        .map(|(name, column)| StringChunked::from_iter_options(name.clone(), column.into_iter()))
        .collect()
}

/// A record that ends inside a quoted value: a `"` opened a value and nothing closed it (the
/// tokenizer then reads the rest of the file as that value).
fn ends_in_quotes(record: &[u8], delimiter: u8) -> bool {
    let (mut quoted, mut field_start, mut i) = (false, true, 0);
    while i < record.len() {
        let b = record[i];
        if quoted {
            if b == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                quoted = false;
            }
        } else if b == b'"' && field_start {
            quoted = true;
        }
        field_start = !quoted && (b == delimiter || b == b'\n');
        i += 1;
    }
    quoted
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

    #[test]
    fn a_quoted_value_never_closed_is_found() {
        for (record, open) in [
            (&b"a,b,c\n"[..], false),
            (b"\"a, b\",\"say \"\"hi\"\"\",c\r\n", false),
            (b"\"over\nlines\",x\n", false),
            (b"over lines\",x\n", false),
            (b"a,b\"c,d\n", false),
            (b"\"never closed,x\nand on\n", true),
            (b"x,\"a \"\"quoted\"\" word,y\n", true),
        ] {
            assert_eq!(
                ends_in_quotes(record, b','),
                open,
                "{}",
                String::from_utf8_lossy(record)
            );
        }
    }

    use super::*;

    #[test]
    fn a_sample_reads_text_whose_characters_cross_64_kb() {
        // "é" is two bytes; the first row ends so that one straddles byte 65,536.
        let mut text = String::from("id,title\n");
        let pad = (1 << 16) - 1 - text.len() - "1,".len();
        text.push_str(&format!("1,{}é\n", "x".repeat(pad)));
        assert!(!text.is_char_boundary(1 << 16));
        text.push_str("2,Pumpe défekt\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, &text).unwrap();
        let drawn = sample(&path, None, 10).unwrap();
        assert_eq!(drawn.rows.len(), 2);
        assert_eq!(drawn.rows[1][1], "Pumpe défekt");
        std::fs::write(&path, b"id,title\n1,caf\xe9\n").unwrap();
        let e = sample(&path, None, 10).unwrap_err().to_string();
        assert!(e.contains("line 2 is not UTF-8"), "{e}");
    }

    #[test]
    fn sniffs_the_header_delimiter() {
        assert_eq!(sniff_delimiter(b"id;title;kind\n1;a,b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"id\ttitle\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c,d\n"), b',');
        assert_eq!(sniff_delimiter(b"id\n"), b',');
    }
}
