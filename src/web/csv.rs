//! CSV output that spreadsheets open safely, streamed in constant memory.
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::StreamExt;
use sqlx::PgPool;
use tokio::sync::mpsc;

/// What makes a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The places where a spreadsheet may start a cell inside this text: its
/// start, and after every `;` or `,` (many locales split on `;` when a file
/// is pasted or opened with another separator), past any spaces.
fn cell_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' || *b == b',' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            starts.push(j);
        }
    }
    starts
}

/// At `at`: a run of quotes followed by a formula trigger.
fn quoted_trigger(text: &str, at: usize) -> bool {
    text[at..].trim_start_matches('\'').starts_with(TRIGGERS)
}

/// Defuses every place a spreadsheet could start a formula: a quote goes
/// before it (and before any quotes already there, so `undefuse` can tell
/// them apart and give back exactly the text).
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let starts: Vec<usize> = cell_starts(cell).into_iter().filter(|&p| quoted_trigger(cell, p)).collect();
    if starts.is_empty() {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len() + starts.len());
    let mut last = 0;
    for p in starts {
        out.push_str(&cell[last..p]);
        out.push('\'');
        last = p;
    }
    out.push_str(&cell[last..]);
    out.into()
}

/// One CSV line. Cells that a spreadsheet would run as a formula are defused.
pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let c = defuse(cell.as_ref());
        if c.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&c.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&c);
        }
    }
    line.push_str("\r\n");
    line
}

/// Reverses `defuse`, so an exported file imports unchanged.
pub fn undefuse(cell: &str) -> std::borrow::Cow<'_, str> {
    // A start defused by `defuse` holds a quote, then (quotes and) a trigger.
    let starts: Vec<usize> =
        cell_starts(cell).into_iter().filter(|&p| cell[p..].starts_with('\'') && quoted_trigger(cell, p + 1)).collect();
    if starts.is_empty() {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len());
    let mut last = 0;
    for p in starts {
        out.push_str(&cell[last..p]);
        last = p + 1;
    }
    out.push_str(&cell[last..]);
    out.into()
}

/// A channel whose receiving end is a download: the producer sends lines as
/// it reads them from the database, so memory stays flat for any size.
pub fn download(filename: &str) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Response) {
    let (tx, rx) = mpsc::channel(32);
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = crate::web::layout::attachment(filename);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    (tx, res)
}

/// Streams the rows of a compile-checked query as a CSV download, in
/// constant memory, like [`stream`]: `rows` starts the query on the pool
/// (`move |db| sqlx::query_as!(…).fetch(db)`); `to_row` turns a row into cells.
pub fn stream_rows<T, Q, R>(filename: &str, header: &'static [&'static str], db: PgPool, rows: Q, to_row: R) -> Response
where
    T: Send + 'static,
    Q: for<'c> FnOnce(&'c PgPool) -> futures_util::stream::BoxStream<'c, Result<T, sqlx::Error>> + Send + 'static,
    R: Fn(T) -> Vec<String> + Send + 'static,
{
    let (tx, res) = download(filename);
    tokio::spawn(async move {
        if tx.send(Ok(row(header).into())).await.is_err() {
            return;
        }
        let mut rows = rows(&db);
        while let Some(next) = rows.next().await {
            let chunk = match next {
                Ok(r) => Ok(row(&to_row(r)).into()),
                Err(err) => {
                    tracing::error!("CSV export failed: {err}");
                    Err(std::io::Error::other("export failed"))
                }
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    res
}

/// A small CSV built in memory (a template or a short list).
pub fn attachment(filename: &str, body: String) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&crate::web::layout::attachment(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_after_separators_are_defused_too() {
        assert_eq!(row(&["a;=cmd|' /C calc'!A0"]), "a;'=cmd|' /C calc'!A0\r\n");
        assert_eq!(row(&["x, =1+1"]), "\"x, '=1+1\"\r\n");
        assert_eq!(row(&["1;2;-3"]), "1;2;'-3\r\n");
        assert_eq!(defuse("plain; text, here"), "plain; text, here");
        for cell in ["a;=b", "=a;+b,@c", "a;'=b", "''=x", "'quoted", "a;'b", "; ;=", ";", "", "é;=ü"] {
            assert_eq!(undefuse(&defuse(cell)), cell, "{cell:?}");
        }
        // Text that already held a quote before a trigger keeps it.
        assert_eq!(defuse("a;'=b"), "a;''=b");
    }

    #[test]
    fn quoting_and_formula_defence() {
        assert_eq!(row(&["a", "b,c", "say \"hi\""]), "a,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(row(&["=SUM(A1)", "-1"]), "'=SUM(A1),'-1\r\n");
        assert_eq!(undefuse("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(undefuse("'quoted"), "'quoted");
    }
}
