//! CSV output that spreadsheets open safely, streamed in constant memory.
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgRow;
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

/// Reverses `row`'s formula defence, so an exported file imports unchanged.
pub fn undefuse(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
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

pub type Query<'q, T> = sqlx::query::QueryAs<'q, sqlx::Postgres, T, sqlx::postgres::PgArguments>;

/// Streams the rows of a query as a CSV download, in constant memory: rows
/// are read from the database as the client takes them. `bind` adds the
/// query's parameters; `to_row` turns a row into cells.
pub fn stream<T, B, R>(filename: &str, header: &'static [&'static str], db: PgPool, sql: String, bind: B, to_row: R) -> Response
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static,
    B: for<'q> FnOnce(Query<'q, T>) -> Query<'q, T> + Send + 'static,
    R: Fn(T) -> Vec<String> + Send + 'static,
{
    let (tx, res) = download(filename);
    tokio::spawn(async move {
        if tx.send(Ok(row(header).into())).await.is_err() {
            return;
        }
        let query = bind(sqlx::query_as(&sql));
        let mut rows = query.fetch(&db);
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
    fn quoting_and_formula_defence() {
        assert_eq!(row(&["a", "b,c", "say \"hi\""]), "a,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(row(&["=SUM(A1)", "-1"]), "'=SUM(A1),'-1\r\n");
        assert_eq!(undefuse("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(undefuse("'quoted"), "'quoted");
    }
}
