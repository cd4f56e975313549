//! CSV output that spreadsheets open safely, streamed in constant memory.
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::mpsc;

/// One CSV line. Cells that a spreadsheet would run as a formula are defused.
pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let mut c = cell.as_ref().to_string();
        if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            c.insert(0, '\'');
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formula_defence() {
        assert_eq!(row(&["a", "b,c", "say \"hi\""]), "a,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(row(&["=SUM(A1)", "-1"]), "'=SUM(A1),'-1\r\n");
    }
}
