//! Workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) read with `calamine` into the same
//! text cells a CSV file gives, so the one mapping engine types every value. A date cell
//! becomes an ISO 8601 local time (a bare date when it holds no time), and a number in a column
//! the profile reads as a date is taken as an Excel date serial (1900 date system), unless the
//! profile reads numbers as Unix times.

use std::path::Path;

use calamine::{Data, ExcelDateTime, ExcelDateTimeType, Range, Reader};
use chrono::{NaiveDateTime, Timelike};

/// File name endings read as workbooks.
const EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Whether `path` is a workbook: by its ending, or by the first bytes of a file named
/// otherwise (a zip container or an OLE compound file is no CSV).
pub fn is_workbook(path: &Path, head: &[u8]) -> bool {
    let by_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    by_name || head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// One sheet of a workbook, in memory.
pub struct Sheet {
    pub name: String,
    range: Range<Data>,
}

/// Reads `sheet` (the first sheet when `None`) of the workbook in `bytes`. Errors are in words a
/// user can act on: a password, a damaged file, a sheet that is not there.
pub fn open(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Sheet, String> {
    if encrypted_ooxml(&bytes) {
        return Err(PASSWORD.into());
    }
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| explain(&e))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(want) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(want))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no sheet named `{want}`; the workbook has: {}",
                    quoted(&names)
                )
            })?,
        None => names.first().cloned().ok_or("the workbook has no sheets")?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| format!("sheet `{name}`: {}", explain(&e)))?;
    Ok(Sheet { name, range })
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

const PASSWORD: &str = "the workbook is protected by a password: open it, save a copy without the password, and import that";

/// An Excel workbook saved with a password: an OLE compound file holding an `EncryptedPackage`
/// stream instead of the zip an `.xlsx` is (calamine tells only "cannot detect the format").
fn encrypted_ooxml(bytes: &[u8]) -> bool {
    const NAME: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) && bytes.windows(NAME.len()).any(|w| w == NAME)
}

/// calamine's error, said for a user: a protected workbook is common and has a clear fix.
fn explain(e: &calamine::Error) -> String {
    use calamine::Error as E;
    let password = matches!(e, E::Xlsx(calamine::XlsxError::Password))
        || matches!(e, E::Xls(calamine::XlsError::Password))
        || matches!(e, E::Xlsb(calamine::XlsbError::Password))
        || matches!(e, E::Ods(calamine::OdsError::Password));
    if password || e.to_string().contains("password") {
        return PASSWORD.into();
    }
    match e {
        E::Msg(_) => "not a workbook calamine can read (xlsx, xlsm, xlsb, xls, ods): the file is damaged or of another kind".into(),
        other => format!("the workbook is damaged or unreadable ({other})"),
    }
}

impl Sheet {
    /// Sheet rows (1-based, as the spreadsheet numbers them) of the range's first and last row.
    /// `None` for an empty sheet.
    pub fn rows(&self) -> Option<std::ops::RangeInclusive<u32>> {
        match (self.range.start(), self.range.end()) {
            (Some(s), Some(e)) => Some(s.0 + 1..=e.0 + 1),
            _ => None,
        }
    }

    /// The spreadsheet's letter of the column at `col` (0-based from the range's first column).
    pub fn column_letter(&self, col: usize) -> String {
        let first = self.range.start().map(|s| s.1 as usize).unwrap_or(0);
        column_letter(first + col)
    }

    pub fn width(&self) -> usize {
        self.range.width()
    }

    /// The cells of sheet row `row` as a CSV export's trimmed fields, read as plain values (no
    /// column is taken for a date): what the header search and a profile's sample look at.
    pub fn row_strings(&self, row: u32, cells: &mut Vec<Option<String>>) -> Vec<String> {
        self.row_text(row, &CellRules::default(), cells);
        cells
            .iter()
            .map(|c| c.as_deref().unwrap_or("").trim().to_string())
            .collect()
    }

    /// The cells of sheet row `row` as text (`None` when empty), read by `rules`.
    pub fn row_text(&self, row: u32, rules: &CellRules, cells: &mut Vec<Option<String>>) {
        cells.clear();
        let first = self.range.start().map(|s| s.0).unwrap_or(0);
        let r = (row - 1 - first) as usize;
        for c in 0..self.width() {
            let cell = self.range.get((r, c)).unwrap_or(&Data::Empty);
            let date = rules.dates.get(c).copied().unwrap_or(false);
            let mut text = cell_text(cell, date);
            if rules.decimal_comma
                && !date
                && matches!(cell, Data::Float(_) | Data::DateTime(_))
                && let Some(t) = &mut text
            {
                *t = t.replace('.', ",");
            }
            cells.push(text);
        }
    }
}

/// How a profile wants cells written: which columns are dates (numbers there are date
/// serials), and whether its numbers use a decimal comma.
#[derive(Debug, Clone, Default)]
pub struct CellRules {
    pub dates: Vec<bool>,
    pub decimal_comma: bool,
}

/// `A`, `B`, ..., `Z`, `AA`, ... for a 0-based column.
fn column_letter(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// A cell as the text a CSV export would hold. `date_column`: numbers are date serials.
fn cell_text(cell: &Data, date_column: bool) -> Option<String> {
    let text = match cell {
        Data::Empty => return None,
        Data::String(s) => s.clone(),
        Data::Int(i) if date_column => serial_text(*i as f64)?,
        Data::Float(f) if date_column => serial_text(*f)?,
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => local_text(d.as_datetime()?),
        // A duration cell (`[h]:mm`) in hours, as hours fields expect.
        Data::DateTime(d) => number_text(d.as_f64() * 24.0),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    };
    Some(text)
}

/// A number as written in a CSV export: whole numbers without a fraction.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// An Excel date serial as local time text; a serial outside 1900-9999 stays a number (and the
/// date parser says why it is not a date).
fn serial_text(f: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&f) {
        return Some(number_text(f));
    }
    ExcelDateTime::new(f, ExcelDateTimeType::DateTime, false)
        .as_datetime()
        .map(local_text)
}

/// `2026-03-02` for midnight, else `2026-03-02T08:15:00`: a bare date keeps its meaning (a due
/// date is the end of that day).
fn local_text(t: NaiveDateTime) -> String {
    if t.time().num_seconds_from_midnight() == 0 && t.time().nanosecond() < 1_000_000 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn cells_read_as_a_csv_export_writes_them() {
        assert_eq!(cell_text(&Data::Float(3.0), false).as_deref(), Some("3"));
        assert_eq!(
            cell_text(&Data::Float(412.5), false).as_deref(),
            Some("412.5")
        );
        assert_eq!(cell_text(&Data::Int(1003), false).as_deref(), Some("1003"));
        assert_eq!(cell_text(&Data::Empty, false), None);
        // 46089 is 2026-03-08 in the 1900 date system; a fraction is the time of day.
        assert_eq!(
            cell_text(&Data::Int(46089), true).as_deref(),
            Some("2026-03-08")
        );
        assert_eq!(
            cell_text(&Data::Float(46101.5), true).as_deref(),
            Some("2026-03-20T12:00:00")
        );
        // Not a serial: left as the number, for the date parser to reject by name.
        assert_eq!(cell_text(&Data::Float(-4.0), true).as_deref(), Some("-4"));
        let cell = Data::DateTime(ExcelDateTime::new(
            46083.34375,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(
            cell_text(&cell, false).as_deref(),
            Some("2026-03-02T08:15:00")
        );
        let hours = Data::DateTime(ExcelDateTime::new(
            0.0625,
            ExcelDateTimeType::TimeDelta,
            false,
        ));
        assert_eq!(cell_text(&hours, false).as_deref(), Some("1.5"));
    }

    #[test]
    fn workbooks_are_known_by_name_or_by_their_first_bytes() {
        assert!(is_workbook(Path::new("a.XLSX"), b""));
        assert!(is_workbook(Path::new("a.ods"), b""));
        assert!(is_workbook(Path::new("a.csv"), b"PK\x03\x04rest"));
        assert!(!is_workbook(Path::new("a.csv"), b"id,title\n"));
    }
}
