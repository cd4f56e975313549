//! The security log owners read (sign-ins, failures, lock-outs, password,
//! role, roster and invitation changes), with its CSV export.
pub mod model;

use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::web::pager::{Pager, Position};
use crate::web::{Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::TryStreamExt;
use model::{Kind, Row};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/security", Can(ViewSecurityLog), page).get("/security.csv", Can(ViewSecurityLog), export)
}

#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    #[serde(default)]
    pub kind: String,
    /// Where the page starts (`web::pager::Position`).
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub at: Option<i64>,
}

impl Filter {
    fn kind(&self) -> Option<Kind> {
        Kind::parse(self.kind.trim())
    }
    fn query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new()).append_pair("kind", &self.kind).finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "security_log/log.html")]
struct LogPage {
    layout: Layout,
    rows: Vec<Row>,
    kinds: Vec<(&'static str, &'static str)>,
    filter: Filter,
    pager: Pager,
}

async fn page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<LogPage> {
    let kind = filter.kind();
    let total = model::count(&state.db, me.org_id, kind, Pager::count_limit()).await?;
    let (mut pager, after) = Pager::new("/security", filter.query(), total, &Position { after: filter.after.clone(), at: filter.at });
    let mut rows = model::events(&state.db, me.org_id, kind, Some(pager.limit()), after).try_collect().await?;
    pager.trim(&mut rows, |r: &Row| (r.at, r.id));
    Ok(LogPage {
        layout: Layout::build(&state.db, &me.visitor, "Security log").await?,
        rows,
        kinds: Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        filter,
        pager,
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let org_id = me.org_id;
    let kind = filter.kind();
    let today = state.clock.now().date_naive();
    Ok(csv::stream_rows(
        &format!("security-log-{}.csv", today.format("%Y%m%d")),
        &["time_utc", "event", "account", "client_address", "detail"],
        state.db.clone(),
        move |db| model::events(db, org_id, kind, None, None),
        |r: Row| vec![r.at.format("%Y-%m-%d %H:%M:%S").to_string(), r.what().to_string(), r.email.clone(), r.client_addr.clone(), r.detail.clone()],
    ))
}
