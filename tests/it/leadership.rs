//! Leadership records: meetings and their sign-off (final from then on, at
//! the server's time, by the chair only), the review cadence, action items,
//! resource decisions, communications, objectives and asks, with exports and
//! a fixed number of queries whatever the number of meetings.
use mandate::ids::OrgId;
use crate::support::{id_after, Client, TestApp, queries_during};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

/// A small but complete PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

struct Acme {
    app: TestApp,
    org: OrgId,
    lead: Client,
    ceo_client: Client,
    /// The CEO in the directory (top management, linked to `ceo_client`'s user).
    ceo: Uuid,
    cfo: Uuid,
    staff: Uuid,
}

async fn acme(db: PgPool) -> Acme {
    let crate::support::AcmeCore { app, org, lead_user, ceo_user, ceo, .. } = crate::support::acme_core(db).await;
    let cfo = app.person(org, "Cef Oh", "cfo@acme.example", true).await;
    let staff = app.person(org, "Sam Staff", "sam@acme.example", false).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    let ceo_client = app.signed_in(ceo_user, Some(org)).await;
    Acme { app, org, lead, ceo_client, ceo, cfo, staff }
}

async fn audit_actions(app: &TestApp, org: OrgId, entity: Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND entity_id = $2 ORDER BY seq").bind(org).bind(entity.to_string()).fetch_all(app.db()).await.unwrap()
}

#[sqlx::test]
async fn a_review_is_recorded_with_attendees_inputs_and_actions_and_exported(db: PgPool) {
    let mut a = acme(db).await;
    let (ceo, cfo, staff) = (a.ceo.to_string(), a.cfo.to_string(), a.staff.to_string());

    // A date in the future is refused, and what was typed stays.
    let res = a
        .lead
        .post("/meetings", &[("kind", "management_review"), ("title", "Review Q3"), ("held_on", "2026-12-01"), ("minutes", "Typed minutes")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("cannot have been held in the future"), "{}", res.body);
    assert!(res.body.contains("Typed minutes"));

    let res = a
        .lead
        .post(
            "/meetings",
            &[
                ("kind", "management_review"),
                ("title", "Review Q3"),
                ("held_on", "2026-10-20"),
                ("chair_id", &ceo),
                ("attendees", &ceo),
                ("attendees", &staff),
                ("inputs", "earlier_actions"),
                ("inputs", "risk"),
                ("inputs", "not-an-input"),
                ("minutes", "We reviewed the risk register."),
                ("decisions", "Fund the phishing exercise."),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let meeting = id_after(res.location(), "/meetings/");
    let (attendees, inputs): (Vec<Uuid>, Vec<String>) =
        sqlx::query_as("SELECT attendee_ids, inputs FROM meetings WHERE id = $1").bind(meeting).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(attendees.len(), 2);
    assert_eq!(inputs, vec!["earlier_actions", "risk"], "unknown inputs are dropped");
    assert_eq!(audit_actions(&a.app, a.org, meeting).await, vec!["meeting.created"]);

    // Someone from outside the directory cannot be slipped in.
    let stranger = Uuid::new_v4().to_string();
    let res = a.lead.post(&format!("/meetings/{meeting}"), &[("kind", "management_review"), ("title", "Review Q3"), ("held_on", "2026-10-20"), ("attendees", &stranger)]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    // Top management present: the CEO; the page says who was there.
    let page = a.lead.get(&format!("/meetings/{meeting}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sam Staff") && page.body.contains("We reviewed the risk register."));
    assert!(!page.body.contains("No top management present"));

    // An action item, then the exports.
    let res = a.lead.post(&format!("/meetings/{meeting}/actions"), &[("action_title", "Run the phishing exercise"), ("owner_id", &cfo), ("due_on", "2026-12-15")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = a.lead.post(&format!("/meetings/{meeting}/actions"), &[("action_title", ""), ("due_on", "soon")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    let csv = a.lead.get("/meetings.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-disposition").starts_with("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[1].contains("Review Q3") && lines[1].contains("Cee Eo; Sam Staff") && lines[1].contains("earlier_actions; risk"), "{}", lines[1]);
    let csv = a.lead.get("/actions.csv").await;
    assert!(csv.body.contains("Run the phishing exercise,Review Q3,Cef Oh,2026-12-15,Open,no"), "{}", csv.body);
}

#[sqlx::test]
async fn only_the_chair_signs_off_and_the_record_is_final_from_then_on(db: PgPool) {
    let mut a = acme(db).await;
    let meeting = a.app.meeting(a.org, "Management review 2026", a.ceo, "2026-09-01", "Minutes as agreed.").await;

    // The ISMS lead manages meetings but is not the chair.
    let res = a.lead.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The chair sees it waiting on their home page, and the button on the meeting.
    assert!(a.ceo_client.get("/dashboard").await.texts(".first-task p, #waiting-h + ul li").iter().any(|w| w.contains("Management review 2026")));
    // The server's time is recorded, not the meeting date.
    let page = a.ceo_client.get(&format!("/meetings/{meeting}")).await;
    assert!(page.has(&format!("form[action='/meetings/{meeting}/sign-off']")));
    a.app.clock.advance(chrono::Duration::minutes(7));
    let res = a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (at, name): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT signed_off_at, signed_off_name FROM meetings WHERE id = $1").bind(meeting).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(at, a.app.state.clock.now());
    assert_eq!(name, "Cee Eo");
    assert_eq!(audit_actions(&a.app, a.org, meeting).await, vec!["meeting.created", "meeting.signed_off"]);
    let left = a.ceo_client.get("/dashboard").await.texts(".first-task p, #waiting-h + ul li");
    assert!(!left.iter().any(|w| w.contains("Management review 2026")), "signed off, it waits no more: {left:?}");

    // Edits are refused by the application...
    let res = a.lead.post(&format!("/meetings/{meeting}"), &[("kind", "management_review"), ("title", "Rewritten"), ("held_on", "2026-09-01")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    // ...and by the database, even for a direct UPDATE or DELETE.
    assert!(sqlx::query("UPDATE meetings SET minutes = 'tampered' WHERE id = $1").bind(meeting).execute(a.app.db()).await.is_err());
    assert!(sqlx::query("DELETE FROM meetings WHERE id = $1").bind(meeting).execute(a.app.db()).await.is_err());
    let minutes: String = sqlx::query_scalar("SELECT minutes FROM meetings WHERE id = $1").bind(meeting).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(minutes, "Minutes as agreed.");
    // The page no longer offers the edit form.
    let page = a.lead.get(&format!("/meetings/{meeting}")).await;
    assert!(!page.has(&format!("form[action='/meetings/{meeting}']")));
    assert!(page.body.contains("Signed off"));

    // Its evidence cannot change either.
    let (item, _) = a.app.evidence(a.org, "Minutes file", "minutes.pdf", PDF).await;
    let res = a.lead.post(&format!("/evidence/{item}/links"), &[("target", &format!("meeting:{meeting}"))]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);

    // Follow-up still goes into action items.
    let res = a.lead.post(&format!("/meetings/{meeting}/actions"), &[("action_title", "Follow up"), ("due_on", "2026-12-01")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn sign_off_needs_the_held_date_and_minutes(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.ceo.to_string();
    let res = a.lead.post("/meetings", &[("kind", "management_review"), ("title", "Next review"), ("planned_on", "2026-12-10"), ("chair_id", &ceo)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let planned = id_after(res.location(), "/meetings/");
    let res = a.ceo_client.post(&format!("/meetings/{planned}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("date the meeting was held"), "{}", res.body);

    // Held, but no minutes yet.
    let held = a.app.meeting(a.org, "Review held", a.ceo, "2026-10-01", "").await;
    let res = a.ceo_client.post(&format!("/meetings/{held}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("minutes"), "{}", res.body);
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("no minutes"));

    // A minutes file linked as evidence counts as minutes.
    let (item, _) = a.app.evidence(a.org, "Minutes", "minutes.pdf", PDF).await;
    let res = a.lead.post(&format!("/evidence/{item}/links"), &[("target", &format!("meeting:{held}"))]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = a.ceo_client.post(&format!("/meetings/{held}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn the_next_review_follows_the_cadence_and_overdue_actions_show(db: PgPool) {
    let mut a = acme(db).await;
    // Nothing yet: a review is due now.
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("No management review recorded yet"), "{}", page.body);

    // Clock: 2026-11-02. A yearly cadence after a review on 2026-06-30 means 2027-06-30.
    let review = a.app.meeting(a.org, "Mid-year review", a.ceo, "2026-06-30", "Minutes").await;
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("<strong>2027-06-30</strong>"), "{}", page.body);
    assert!(!page.body.contains("(overdue)"));

    // Quarterly: due 2026-09-30, so overdue.
    let res = a.lead.post("/meetings/cadence", &[("months", "3")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("<strong>2026-09-30</strong> (overdue)"), "{}", page.body);
    // Less often than yearly is refused.
    let res = a.lead.post("/meetings/cadence", &[("months", "13")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let cadence: i32 = sqlx::query_scalar("SELECT review_cadence_months FROM organisations WHERE id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(cadence, 3);
    // A steering meeting is not a management review: the due date stays.
    a.app.meeting(a.org, "Steering", a.ceo, "2026-10-15", "Minutes").await;
    sqlx::query("UPDATE meetings SET kind = 'steering' WHERE title = 'Steering'").execute(a.app.db()).await.unwrap();
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("<strong>2026-09-30</strong> (overdue)"));

    // An open action past its date shows; closing needs a note and records when.
    let action = a.app.action_item(a.org, review, "Patch the VPN", Some(a.cfo), Some("2026-10-01")).await;
    let page = a.lead.get("/meetings").await;
    assert!(page.body.contains("Patch the VPN"));
    let res = a.lead.post(&format!("/actions/{action}"), &[("action_title", "Patch the VPN"), ("status", "done"), ("due_on", "2026-10-01")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Say how it was closed"));
    let res = a.lead.post(&format!("/actions/{action}"), &[("action_title", "Patch the VPN"), ("status", "done"), ("due_on", "2026-10-01"), ("closing_note", "Patched on 3 Nov")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let closed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("SELECT closed_at FROM action_items WHERE id = $1").bind(action).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(closed, Some(a.app.state.clock.now()));
    let page = a.lead.get("/meetings").await;
    assert!(!page.body.contains("Patch the VPN"));
    // Reopening clears the closing time.
    let res = a.lead.post(&format!("/actions/{action}"), &[("action_title", "Patch the VPN"), ("status", "open"), ("due_on", "2026-10-01")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let closed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("SELECT closed_at FROM action_items WHERE id = $1").bind(action).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(closed, None);
    assert_eq!(audit_actions(&a.app, a.org, action).await, vec!["action.created", "action.updated", "action.updated"]);
}

#[sqlx::test]
async fn resource_decisions_need_a_decider_and_date_and_flag_deciders_outside_top_management(db: PgPool) {
    let mut a = acme(db).await;
    let (cfo, staff) = (a.cfo.to_string(), a.staff.to_string());
    let res = a.lead.post("/decisions", &[("title", "EDR licences"), ("what", "tooling"), ("amount", "12,500.50"), ("currency", "eur"), ("decision", "approved")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Enter the date of the decision") && res.body.contains("Say who decided"), "{}", res.body);
    assert!(res.body.contains("12,500.50"), "what was typed stays");

    let res = a.lead.post("/decisions", &[("title", "EDR licences"), ("what", "tooling"), ("amount", "lots"), ("currency", "EURO"), ("decision", "pending")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Enter the amount as a number") && res.body.contains("three-letter currency code"));

    let res = a
        .lead
        .post("/decisions", &[("title", "EDR licences"), ("what", "tooling"), ("amount", "12,500.50"), ("currency", "eur"), ("decision", "approved"), ("decided_by", &cfo), ("decided_on", "2026-12-01")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a decision cannot be dated in the future");

    let res = a
        .lead
        .post("/decisions", &[("title", "EDR licences"), ("what", "tooling"), ("amount", "12,500.50"), ("currency", "eur"), ("decision", "approved"), ("decided_by", &cfo), ("decided_on", "2026-10-05")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let approved = id_after(res.location(), "/decisions/");
    let res = a.lead.post("/decisions", &[("title", "Extra analyst"), ("what", "headcount"), ("decision", "rejected"), ("decided_by", &staff), ("decided_on", "2026-10-06")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let page = a.lead.get("/decisions").await;
    assert!(page.body.contains("12,500.50 EUR"), "{}", page.body);
    assert!(!page.body.contains("No resource decision recorded"));
    assert_eq!(page.texts(".tag.warn").len(), 1, "only the decision by someone outside top management is flagged");
    let csv = a.lead.get("/decisions.csv").await;
    assert!(csv.body.contains("EDR licences,Tooling,12500.50,EUR"), "{}", csv.body);
    assert!(csv.body.contains("Sam Staff,no,Rejected,2026-10-06"), "{}", csv.body);

    // Back to pending clears the date; the change is logged field by field.
    let res = a.lead.post(&format!("/decisions/{approved}"), &[("title", "EDR licences"), ("what", "tooling"), ("decision", "pending"), ("decided_on", "2026-10-05")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let decided: Option<chrono::NaiveDate> = sqlx::query_scalar("SELECT decided_on FROM resource_decisions WHERE id = $1").bind(approved).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(decided, None);
    let changes: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE entity_id = $1 AND action = 'decision.updated'").bind(approved.to_string()).fetch_one(a.app.db()).await.unwrap();
    let changes: serde_json::Value = serde_json::from_str(&changes).unwrap();
    assert_eq!(changes["decision"], serde_json::json!(["approved", "pending"]));
}

#[sqlx::test]
async fn communications_come_from_someone_on_a_past_date_and_statements_must_be_signed(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.ceo.to_string();
    let res = a.lead.post("/communications", &[("subject", "Why security matters"), ("channel", "all_hands"), ("sent_on", "2026-11-20")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("cannot be in the future") && res.body.contains("Say who it came from"));

    // A statement must be a signed version of this organisation.
    let policy = a.app.policy(a.org, "CEO statement", mandate::policies::versions::model::PolicyKind::ManagementStatement, false).await;
    let draft = a.app.draft(a.org, policy, "# We commit", None, mandate::policies::versions::model::Bump::Major).await;
    let fields = |v: &str| vec![("subject", "Why security matters".to_string()), ("channel", "all_hands".into()), ("sent_on", "2026-10-10".into()), ("from_id", ceo.clone()), ("reach", "42".into()), ("policy_version_id", v.to_string())];
    let form = fields(&draft.to_string());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = a.lead.post("/communications", &pairs).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let owner: Uuid = sqlx::query_scalar("SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    a.app.sign(a.org, draft, owner, true).await;
    let res = a.lead.post("/communications", &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = id_after(res.location(), "/communications/");
    let page = a.lead.get(&format!("/communications/{id}")).await;
    assert!(page.body.contains("CEO statement v1.0") && page.body.contains("42 people"), "{}", page.body);

    let csv = a.lead.get("/communications.csv").await;
    assert!(csv.body.contains("2026-10-10,Cee Eo,yes,All-hands meeting,,42,Why security matters,,CEO statement v1.0"), "{}", csv.body);
}

#[sqlx::test]
async fn asks_go_overdue_and_only_the_person_asked_answers(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.ceo.to_string();
    let res = a.lead.post("/asks", &[("asked_of", &ceo), ("what", "Approve the audit budget"), ("asked_on", "2026-10-01"), ("due_on", "2026-10-15")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let ask = id_after(res.location(), "/asks/");
    let page = a.lead.get("/asks").await;
    assert!(page.body.contains("overdue"), "{}", page.body);
    let csv = a.lead.get("/asks.csv").await;
    assert!(csv.body.trim_end().ends_with(",yes"), "{}", csv.body);

    // It waits on the CEO's home page, not on the lead's.
    let home = a.ceo_client.get("/dashboard").await;
    let waiting = home.texts(".first-task p, #waiting-h + ul li");
    assert!(waiting.iter().any(|w| w.contains("Approve the audit budget") && w.contains("overdue")), "{waiting:?}");
    assert!(!a.lead.get("/dashboard").await.texts("main").concat().contains("Answer Approve the audit budget"), "the lead is not asked");

    // The lead cannot answer for the CEO.
    let res = a.lead.post(&format!("/asks/{ask}/respond"), &[("answer", "Yes")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The CEO sees the form; an empty answer keeps the page with a message.
    let page = a.ceo_client.get(&format!("/asks/{ask}")).await;
    assert!(page.has(&format!("form[action='/asks/{ask}/respond']")));
    let res = a.ceo_client.post(&format!("/asks/{ask}/respond"), &[("answer", "  ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = a.ceo_client.post(&format!("/asks/{ask}/respond"), &[("answer", "Approved, up to 20k.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (response, on): (String, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT response, responded_on FROM leadership_asks WHERE id = $1").bind(ask).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(response, "Approved, up to 20k.");
    assert_eq!(on, Some(a.app.state.clock.now().date_naive()));
    assert_eq!(audit_actions(&a.app, a.org, ask).await, vec!["ask.created", "ask.answered"]);
    let res = a.ceo_client.post(&format!("/asks/{ask}/respond"), &[("answer", "Changed my mind")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let page = a.lead.get("/asks").await;
    assert!(!page.body.contains("overdue"));
    assert!(!a.ceo_client.get("/dashboard").await.body.contains("Approve the audit budget"));

    // The lead can still correct the ask, but the answer stays the CEO's.
    let res = a.lead.post(&format!("/asks/{ask}"), &[("asked_of", &ceo), ("what", "Approve the external audit budget"), ("asked_on", "2026-10-01"), ("response", "")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let response: String = sqlx::query_scalar("SELECT response FROM leadership_asks WHERE id = $1").bind(ask).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(response, "Approved, up to 20k.");

    // An answer that came another way is recorded by the lead with its date, both or neither.
    let cfo = a.cfo.to_string();
    let fields = [("asked_of", cfo.as_str()), ("what", "Sign the supplier policy"), ("asked_on", "2026-10-01"), ("response", "Signed on paper")];
    let res = a.lead.post("/asks", &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Give the response and its date together"));
    let res = a.lead.post("/asks", &[fields.as_slice(), &[("responded_on", "2026-10-03")]].concat()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn objectives_are_measured_owned_and_reviewed_in_meetings(db: PgPool) {
    let mut a = acme(db).await;
    let cfo = a.cfo.to_string();
    let res = a.lead.post("/objectives", &[("title", ""), ("status", "planned"), ("due_on", "next year")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = a
        .lead
        .post("/objectives", &[("title", "Cut phishing clicks"), ("measure", "Click rate in simulations"), ("target", "below 5 %"), ("owner_id", &cfo), ("status", "on_track"), ("due_on", "2026-10-31")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let objective = id_after(res.location(), "/objectives/");
    let page = a.lead.get("/objectives").await;
    assert!(page.body.contains("past due") && page.body.contains("never"), "{}", page.body);

    // Reviewed in a meeting.
    let ceo = a.ceo.to_string();
    let objective_s = objective.to_string();
    let res = a
        .lead
        .post("/meetings", &[("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-20"), ("chair_id", &ceo), ("objectives", &objective_s)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = a.lead.get(&format!("/objectives/{objective}")).await;
    assert!(page.body.contains("in 1 meeting, last on 2026-10-20"), "{}", page.body);
    let csv = a.lead.get("/objectives.csv").await;
    assert!(csv.body.contains("Cut phishing clicks,Click rate in simulations,below 5 %,Cef Oh,2026-10-31,On track,,1,2026-10-20"), "{}", csv.body);

    // Another organisation's objective cannot be named.
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other", other_owner).await;
    let foreign = a.app.objective(other, "Theirs", None).await.to_string();
    let res = a.lead.post("/meetings", &[("kind", "steering"), ("title", "Steering"), ("held_on", "2026-10-20"), ("objectives", &foreign)]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

/// Queries run by the meetings list and the action items list.
async fn measure(lead: &mut Client) -> (usize, usize) {
    let (list, n_meetings) = queries_during(lead.get("/meetings")).await;
    assert_eq!(list.status, StatusCode::OK);
    let (list, n_actions) = queries_during(lead.get("/actions")).await;
    assert_eq!(list.status, StatusCode::OK);
    (n_meetings, n_actions)
}

#[sqlx::test]
async fn meeting_lists_take_the_same_queries_for_two_or_sixty_meetings(db: PgPool) {
    let a = acme(db).await;
    let mut lead = a.lead;
    for i in 0..2 {
        let m = a.app.meeting(a.org, &format!("Review {i}"), a.ceo, "2026-10-01", "Minutes").await;
        a.app.action_item(a.org, m, "Act", Some(a.cfo), Some("2026-10-10")).await;
    }
    let small = measure(&mut lead).await;
    for i in 2..60 {
        let m = a.app.meeting(a.org, &format!("Review {i}"), a.ceo, "2026-10-01", "Minutes").await;
        a.app.action_item(a.org, m, "Act", Some(a.cfo), Some("2026-10-10")).await;
        if i % 2 == 0 {
            a.app.sign_meeting(a.org, m, "Cee Eo").await;
        }
    }
    let large = measure(&mut lead).await;
    let named = |(m, a): (usize, usize)| [("/meetings", m), ("/actions", a)];
    crate::support::assert_same_queries(&named(small), &named(large));
}

/// Read first, edit on demand: a record's page opens as its summary with
/// the edit form folded away (and its history folded too); a new record's
/// form is open, and a refused edit comes back unfolded with its error.
#[sqlx::test]
async fn detail_pages_open_as_a_summary_with_editing_folded(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.ceo.to_string();
    let new = a.lead.get("/decisions/new").await;
    assert!(new.has("section[aria-labelledby='edit-h'] form") && !new.has("details#edit"), "a new record's form is open");
    let res = a
        .lead
        .post("/decisions", &[("title", "EDR licences"), ("what", "tooling"), ("decided_by", &ceo), ("decision", "approved"), ("decided_on", "2026-10-01")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let url = res.location().to_string();
    let page = a.lead.get(&url).await;
    assert!(page.has("dl.facts") && page.has("details#edit:not([open]) form") && page.has("details#history:not([open])"), "{}", page.body);
    let refused = a.lead.post(&url, &[("title", ""), ("what", "tooling"), ("decision", "approved")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("details#edit[open] .error-summary"), "{}", refused.body);
    // A long form in the steps people take: a planned meeting's form folds what happens once it is held.
    let planning = a.lead.get("/meetings/new").await;
    assert!(planning.has("details#held-step:not([open]) textarea[name='minutes']") && planning.has("#f-planned_on"), "{}", planning.body);
    let held = a.lead.post("/meetings", &[("kind", "management_review"), ("title", ""), ("held_on", "2026-10-20"), ("minutes", "Typed.")]).await;
    assert_eq!(held.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(held.has("details#held-step[open]") && held.body.contains("Typed."), "what was typed is shown, unfolded");
    // The same on the other records' pages.
    let meeting = id_after(a.lead.post("/meetings", &[("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-20"), ("chair_id", &ceo)]).await.location(), "/meetings/");
    for path in [format!("/meetings/{meeting}"), format!("/people/{}", a.staff)] {
        let page = a.lead.get(&path).await;
        assert!(page.has("details#edit:not([open]) form"), "{path}: {}", page.body);
    }
}
