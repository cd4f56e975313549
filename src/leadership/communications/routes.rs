//! Leadership communication pages: the handlers and their routes.
use super::model::*;
use crate::audit::HistoryEntry;
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::evidence::model::{Item, TargetKind};
use crate::ids::{OrgId, CommunicationId, PersonId, VersionId};
use crate::leadership::{Around, Opt, RecordPages, create, export_csv, maybe_yes_no, page_status, show_page, text_of, update};
use crate::audit::Actor;
use sqlx::PgConnection;
use crate::people::model::Choice;
use crate::people::pick;
use crate::state::AppState;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Layout};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/communications", Can(ViewLeadership), list_page)
        .get("/communications.csv", Can(ViewLeadership), export)
        .get("/communications/new", Can(ManageLeadership), new_page)
        .post("/communications", Can(ManageLeadership), create::<Communication>)
        .get("/communications/{id}", Can(ViewLeadership), show_page::<Communication>)
        .post("/communications/{id}", Can(ManageLeadership), update::<Communication>)
}

#[derive(Deserialize, Default, Clone)]
pub struct CommunicationForm {
    #[serde(default)]
    sent_on: String,
    #[serde(default)]
    from_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    reach: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    policy_version_id: String,
}

impl CommunicationForm {
    fn from_communication(c: &Communication) -> Self {
        CommunicationForm {
            sent_on: c.sent_on.to_string(),
            from_id: text_of(c.from_id),
            channel: c.channel.as_str().into(),
            audience: c.audience.clone(),
            reach: text_of(c.reach),
            subject: c.subject.clone(),
            summary: c.summary.clone(),
            policy_version_id: text_of(c.policy_version_id),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields {
            from_id: parse_choice(&self.from_id).map(PersonId),
            channel: self.channel.parse().unwrap_or_default(),
            policy_version_id: parse_choice(&self.policy_version_id).map(VersionId),
            ..Default::default()
        };
        match parse_date(&self.sent_on, "the date") {
            Ok(Some(d)) if d > today => errors.add("sent_on", "Record a communication once it has gone out: the date cannot be in the future."),
            Ok(Some(d)) => f.sent_on = Some(d),
            Ok(None) => errors.add("sent_on", "Enter the date it went out."),
            Err(e) => errors.add("sent_on", e),
        }
        if f.from_id.is_none() {
            errors.add("from_id", "Say who it came from.");
        }
        match parse_text(&self.subject, "the subject", 300) {
            Ok(v) => f.subject = v,
            Err(e) => errors.add("subject", e),
        }
        match parse_optional(&self.audience, "the audience", 300, false) {
            Ok(v) => f.audience = v,
            Err(e) => errors.add("audience", e),
        }
        match parse_optional(&self.summary, "the summary", 4000, true) {
            Ok(v) => f.summary = v,
            Err(e) => errors.add("summary", e),
        }
        match self.reach.trim() {
            "" => {}
            r => match r.parse::<i32>() {
                Ok(n) if n >= 0 => f.reach = Some(n),
                _ => errors.add("reach", "Enter how many people it reached, as a whole number."),
            },
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/communications.html")]
struct ListPage {
    layout: Layout,
    communications: Vec<Communication>,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Leadership communications").await?,
        communications: list(&state.db, me.org_id).await?,
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    Ok(export_csv(
        "leadership-communications.csv",
        &["sent_on", "from", "from_is_top_management", "channel", "audience", "reach", "subject", "summary", "statement"],
        state.db.clone(),
        me.org_id,
        stream,
        move |c: Communication| {
            vec![
                c.sent_on.to_string(),
                c.from_name.clone().unwrap_or_default(),
                maybe_yes_no(c.from_top_management),
                c.channel_label().into(),
                c.audience.clone(),
                text_of(c.reach),
                c.subject.clone(),
                c.summary.clone(),
                c.statement.clone().unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/communication.html")]
struct ShowPage {
    layout: Layout,
    communication: Option<Communication>,
    form: CommunicationForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    statements: Vec<Opt<VersionId>>,
    channels: Vec<(&'static str, &'static str)>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
}

async fn show(state: &AppState, me: &Member, communication: Option<Communication>, form: CommunicationForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep = pick::ids([form.from_id.as_str()]);
    let Around { evidence, history, can_manage, can_upload } =
        Around::load(state, me, communication.as_ref().map(|r| (TargetKind::Communication, "communication", r.id.0))).await?;
    let statements = statements(&state.db, me.org_id).await?;
    let status = page_status(&[&errors]);
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, communication.as_ref().map(|c| c.subject.clone()).unwrap_or_else(|| "New communication".into())).await?,
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        statements,
        channels: Channel::choices(),
        can_manage,
        can_upload,
        communication,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

/// What a link may fill in beforehand (a finding's fix): who speaks.
#[derive(Deserialize, Default)]
pub struct Prefill {
    from: Option<String>,
}

async fn new_page(State(state): State<AppState>, me: Member, axum::extract::Query(pre): axum::extract::Query<Prefill>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let form = CommunicationForm { channel: Channel::AllHands.as_str().into(), sent_on: today.to_string(), from_id: pre.from.unwrap_or_default(), ..Default::default() };
    show(&state, &me, None, form, FieldErrors::default()).await
}

impl RecordPages for Communication {
    type Id = CommunicationId;
    type Form = CommunicationForm;
    type Fields = Fields;
    const PATH: &'static str = "/communications";
    const RECORDED: &'static str = "The communication was recorded.";

    async fn get(conn: &mut PgConnection, org_id: OrgId, id: CommunicationId) -> AppResult<Self> {
        get(conn, org_id, id).await
    }
    fn form(&self) -> CommunicationForm {
        CommunicationForm::from_communication(self)
    }
    fn people(form: &mut CommunicationForm) -> Vec<(&'static str, &mut String)> {
        vec![("from_id", &mut form.from_id)]
    }
    fn parse(form: &CommunicationForm, today: NaiveDate) -> Result<Fields, FieldErrors> {
        form.parse(today)
    }
    async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<CommunicationId> {
        insert(conn, actor, now, org_id, f).await
    }
    async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Self, f: Fields) -> AppResult<bool> {
        save(conn, actor, now, org_id, before, &f).await
    }
    async fn show(state: &AppState, me: &Member, record: Option<Self>, form: CommunicationForm, errors: FieldErrors) -> AppResult<Response> {
        show(state, me, record, form, errors).await
    }
}
