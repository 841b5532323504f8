//! Human tables and JSON on stdout (buffered, one write per call); notes on stderr.

use std::io::Write;

use serde::Serialize;

/// Writes `text` to stdout. A closed pipe (`keytool key list | head`) ends the program quietly
/// instead of panicking, as other Unix tools do.
pub(crate) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("Error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(mut text) => {
            text.push('\n');
            emit(&text);
        }
        Err(e) => eprintln!("Error: cannot print JSON: {e}"),
    }
}

/// Prints rows as an aligned table with a header line.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<(Vec<String>, Vec<String>)> =
        rows.iter().map(|r| (r.clone(), Vec::new())).collect();
    table_with_details(header, &rows);
}

/// [`table`], each row followed by its detail lines (indented), so that long values (a GUN, a
/// file path) do not widen every line.
pub(crate) fn table_with_details(header: &[&str], rows: &[(Vec<String>, Vec<String>)]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for (row, _) in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::with_capacity((rows.len() + 1) * 160);
    let mut line = |cells: &[&str]| {
        let start = text.len();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}   "));
            }
        }
        let trimmed = text[start..].trim_end().len();
        text.truncate(start + trimmed);
        text.push('\n');
    };
    line(header);
    for (row, details) in rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
        for d in details {
            line(&[&format!("    {d}")]);
        }
    }
    emit(&text);
}
