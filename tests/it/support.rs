//! The test harness: the real router and a real PostgreSQL database per test
//! (`#[sqlx::test]`), driven in-process with a cookie-keeping client.
#![allow(dead_code)]

use mandate::ids::OrgId;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use mandate::app;
use mandate::state::AppState;
use mandate::audit::Actor;
use mandate::auth::policy::Role;
use mandate::auth::session;
use mandate::clock::ManualClock;
use mandate::config::Config;
use mandate::evidence::store::EvidenceStore;
use mandate::orgs::model;
use mandate::people::audience::Audience;
use mandate::people::model::{self as people, PersonFields};
use mandate::policies::versions::model::{self as policies, Bump, Draft, PolicyFields, PolicyKind, Signer};
use mandate::roles::model::{self as roles, RoleFields};
use sqlx::PgPool;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "a long and memorable test passphrase";

/// A real 4 x 4 PNG image (a logo).
pub const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00\x00\x00\x26\x93\x09\x29\x00\x00\x00\x10\x49\x44\x41\x54\x78\x9c\x63\x90\xf7\xab\x84\x23\x06\xe2\x38\x00\x70\x63\x0e\x61\x84\xbf\x56\x4d\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// SQL statements run so far in this test process (nextest runs each test
/// in a process of its own). sqlx reports every statement as a tracing
/// event with the target `sqlx::query`; this layer counts them.
static QUERIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct CountQueries;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountQueries {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            QUERIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Runs `f` and returns its output with the number of SQL statements it ran.
pub async fn queries_during<F: std::future::Future>(f: F) -> (F::Output, usize) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let only_queries = tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::DEBUG);
        let _ = tracing_subscriber::registry().with(CountQueries.with_filter(only_queries)).try_init();
    });
    let before = QUERIES.load(std::sync::atomic::Ordering::SeqCst);
    let out = f.await;
    (out, QUERIES.load(std::sync::atomic::Ordering::SeqCst) - before)
}

/// Asserts that every measured view ran at least one statement and as many
/// on the large dataset as on the small one, naming every view that did not.
pub fn assert_same_queries(small: &[(&str, usize)], large: &[(&str, usize)]) {
    assert_eq!(small.len(), large.len(), "both datasets measure the same views");
    let mut wrong = Vec::new();
    for ((view, s), (view_l, l)) in small.iter().zip(large) {
        assert_eq!(view, view_l, "both datasets measure the same views in the same order");
        if *s == 0 || *l == 0 {
            wrong.push(format!("{view}: no statements counted (small {s}, large {l}): the count proves nothing"));
        } else if s != l {
            wrong.push(format!("{view}: {s} statements on the small dataset, {l} on the large one"));
        }
    }
    assert!(wrong.is_empty(), "statement counts differ:\n{}", wrong.join("\n"));
}

pub struct TestApp {
    pub state: AppState,
    pub clock: ManualClock,
    pub router: Router,
}

impl TestApp {
    pub async fn new(db: PgPool) -> Self {
        Self::with_config(db, |_| {}).await
    }

    /// The app on a fresh test database, with the catalogues loaded as at start-up.
    pub async fn with_config(db: PgPool, tweak: impl FnOnce(&mut Config)) -> Self {
        let store = EvidenceStore::local(&std::env::temp_dir().join(format!("mandate-test-evidence-{}", Uuid::new_v4()))).unwrap();
        Self::with_store(db, tweak, store).await
    }

    pub async fn with_store(db: PgPool, tweak: impl FnOnce(&mut Config), store: EvidenceStore) -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap());
        let mut config = Config::new("http://localhost:8080".parse().unwrap(), std::env::temp_dir());
        tweak(&mut config);
        let mailer = config.smtp.as_ref().map(|s| Arc::new(mandate::mail::Mailer::new(s).unwrap()));
        let state = AppState { db, config: Arc::new(config), clock: Arc::new(clock.clone()), mailer, store: Arc::new(store), kept: Default::default() };
        // What start-up does: migrations (already applied here) and the catalogues.
        mandate::db::migrate(&state.db, state.clock.now()).await.unwrap();
        let router = app::router(state.clone());
        Self { state, clock, router }
    }

    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), cookies: HashMap::new(), headers: HeaderMap::new(), addr: "192.0.2.10:5000".parse().unwrap() }
    }

    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    /// An account, created directly (with a real Argon2id hash).
    pub async fn user(&self, email: &str, name: &str) -> Uuid {
        let hash = mandate::auth::password::hash(PASSWORD.into()).await.unwrap();
        let mut tx = self.db().begin().await.unwrap();
        let id = model::create_user(&mut tx, &Actor::system(None, "test"), self.state.clock.now(), email, name, &hash)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        id.into()
    }

    pub async fn org(&self, name: &str, owner: Uuid) -> OrgId {
        let id = OrgId::new();
        let mut tx = self.db().begin().await.unwrap();
        model::create_organisation(&mut tx, &Actor::system(Some(id), "test"), self.state.clock.now(), id, name, owner.into()).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn member(&self, org: OrgId, user: Uuid, role: Role) -> Uuid {
        let mut tx = self.db().begin().await.unwrap();
        let id = model::add_membership(&mut tx, &Actor::system(Some(org), "test"), self.state.clock.now(), org, user.into(), role)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id.into()
    }

    pub async fn invitation(&self, org: OrgId, by: Uuid, email: &str, role: Role) -> (Uuid, String) {
        let mut tx = self.db().begin().await.unwrap();
        let actor = Actor { org_id: Some(org), user_id: Some(by.into()), label: "test".into(), request_id: "test".into() };
        let out = model::create_invitation(&mut tx, &actor, self.state.clock.now(), self.state.config.invitation_ttl, org, model::Invitee { email, role, window: Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (out.0.into(), out.1)
    }

    /// Runs `sql` against the audit log with its append-only trigger switched
    /// off, as an attacker with database access could.
    pub async fn tamper_audit(&self, sql: &str) {
        let mut tx = self.db().begin().await.unwrap();
        sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete").execute(&mut *tx).await.unwrap();
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
        sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub fn system(&self, org: OrgId) -> Actor {
        Actor::system(Some(org), "test")
    }

    /// A person in the directory.
    pub async fn person(&self, org: OrgId, name: &str, email: &str, top_management: bool) -> Uuid {
        let f = PersonFields { name: name.into(), email: email.into(), top_management, ..Default::default() };
        let mut tx = self.db().begin().await.unwrap();
        let id = people::create(&mut tx, &self.system(org), self.state.clock.now(), org, &f, None).await.unwrap();
        // A fixture's top management is the organisation's set-up, as the demo's is.
        mandate::people::roster::model::record_seeded(&mut tx, org).await.unwrap();
        tx.commit().await.unwrap();
        id.into()
    }

    /// Links a person to a member's account, so they act as themselves (for
    /// top management: as if the roster had confirmed that account).
    pub async fn link(&self, org: OrgId, person: Uuid, user: Uuid) {
        sqlx::query("UPDATE people SET user_id = $3, leader_account_id = CASE WHEN top_management THEN $3 END WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(person)
            .bind(user)
            .execute(self.db())
            .await
            .unwrap();
    }

    pub async fn role(&self, org: OrgId, name: &str, conformance: bool, reporting: bool) -> Uuid {
        let f = RoleFields {
            name: name.into(),
            responsibilities: "Does things.".into(),
            authorities: "May decide things.".into(),
            carries_conformance: conformance,
            carries_reporting: reporting,
        };
        let mut tx = self.db().begin().await.unwrap();
        let id = roles::create_role(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// An appointment made today by `by`; returns its id and acceptance-link secret.
    pub async fn appoint(&self, org: OrgId, role: Uuid, person: Uuid, by: Uuid) -> (Uuid, String) {
        let role = roles::role(self.db(), org, mandate::ids::RoleId(role)).await.unwrap();
        let now = self.state.clock.now();
        let (person_id, appointed_by) = (mandate::ids::PersonId(person), mandate::ids::PersonId(by));
        let new = roles::NewAppointment { person_id, capacity: roles::Capacity::Holder, appointed_by, appointed_on: now.date_naive(), record_anyway: true };
        let mut tx = self.db().begin().await.unwrap();
        let (id, secret) = roles::appoint(&mut tx, &self.system(org), now, org, &role, &new, None).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        (id.0, secret)
    }

    /// An evidence item with one file (stored through the real store); returns (item, revision).
    pub async fn evidence(&self, org: OrgId, title: &str, filename: &str, bytes: &[u8]) -> (Uuid, Uuid) {
        use mandate::evidence::model::{self as evidence, ItemFields, Kind, NewRevision};
        let revision = mandate::ids::RevisionId::new();
        let key = EvidenceStore::key_for(org, revision);
        let body = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(bytes))]);
        let r = self.state.store.receive(&key, body, u64::MAX, filename).await.unwrap();
        let f = ItemFields {
            title: title.into(),
            description: String::new(),
            kind: Kind::Document,
            external_url: None,
            evidence_date: Some(self.state.clock.now().date_naive()),
            valid_until: None,
            review_interval_months: Some(12),
            owner_id: None,
        };
        let id = mandate::ids::EvidenceId::new();
        let now = self.state.clock.now();
        let mut tx = self.db().begin().await.unwrap();
        evidence::create(&mut tx, &self.system(org), now, org, id, &f).await.unwrap();
        let rev = NewRevision { id: revision, key: &key, filename, content_type: r.file_type.mime(), size: r.size, sha256: &r.sha256 };
        evidence::add_revision(&mut tx, &self.system(org), now, org, id, &rev).await.unwrap();
        tx.commit().await.unwrap();
        (id.0, revision.0)
    }

    /// A policy for all staff; `public` gives it a public page.
    pub async fn policy(&self, org: OrgId, title: &str, kind: PolicyKind, public: bool) -> Uuid {
        let f = PolicyFields { title: title.into(), kind, owner_id: None, review_months: 12, audience: Audience::AllStaff, audience_reason: String::new(), public };
        let mut tx = self.db().begin().await.unwrap();
        let id = policies::create(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// A draft version: Markdown `text`, or with `file` set the given evidence revision.
    pub async fn draft(&self, org: OrgId, policy: Uuid, text: &str, file: Option<Uuid>, bump: Bump) -> Uuid {
        let p = policies::get(self.db(), org, mandate::ids::PolicyId(policy)).await.unwrap();
        let draft = Draft { change_summary: "test".into(), body_markdown: file.is_none().then(|| text.to_string()), checks: Default::default(), evidence_revision_id: file.map(mandate::ids::RevisionId), signer_requested: None };
        let mut tx = self.db().begin().await.unwrap();
        let (id, _) = policies::create_version(&mut tx, &self.system(org), self.state.clock.now(), org, &p, bump, &draft).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// Signs a version as `user` (top management or not).
    pub async fn sign(&self, org: OrgId, version: Uuid, user: Uuid, top_management: bool) {
        let v = policies::version(self.db(), org, mandate::ids::VersionId(version)).await.unwrap();
        let signer = Signer { user_id: Some(mandate::ids::UserId(user)), name: "Signer".into(), person_id: None, top_management, client_addr: "192.0.2.1".into(), user_agent: "test".into(), passkey: None };
        let mut tx = self.db().begin().await.unwrap();
        policies::sign(&mut tx, &self.system(org), self.state.clock.now(), org, &v, &signer).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// A campaign for a signed version with a personal link for `person`; returns (campaign, link secret).
    pub async fn campaign(&self, org: OrgId, version: Uuid, person: Uuid) -> (Uuid, String) {
        use mandate::policies::acks::model as acks;
        use mandate::policies::campaigns::model as campaigns;
        let v = policies::version(self.db(), org, mandate::ids::VersionId(version)).await.unwrap();
        let today = self.state.clock.now().date_naive();
        let mut tx = self.db().begin().await.unwrap();
        let id = campaigns::create_campaign(&mut tx, &self.system(org), self.state.clock.now(), org, v.id, "test", None).await.unwrap();
        tx.commit().await.unwrap();
        let standings = acks::standings(self.db(), org, v.policy_id, v.major, Some(id), today).await.unwrap();
        let who: Vec<&acks::Standing> = standings.iter().filter(|s| s.person_id.0 == person).collect();
        let mut tx = self.db().begin().await.unwrap();
        let links = acks::issue_links(&mut tx, &self.system(org), self.state.clock.now(), org, id, &who).await.unwrap();
        tx.commit().await.unwrap();
        (id.0, links[0].token.clone())
    }

    /// A training campaign of `module` with a personal link for `person`: (campaign, token).
    pub async fn training_campaign(&self, org: OrgId, module: Uuid, person: Uuid) -> (Uuid, String) {
        use mandate::training::campaigns::model as campaigns;
        use mandate::training::model as training;
        let module = training::module(self.db(), org, mandate::ids::ModuleId(module)).await.unwrap();
        let mut tx = self.db().begin().await.unwrap();
        let id = campaigns::create(&mut tx, &self.system(org), self.state.clock.now(), org, &module, None).await.unwrap();
        tx.commit().await.unwrap();
        let campaign = campaigns::campaign(self.db(), org, id).await.unwrap();
        let standings = campaigns::standings(&mut self.db().acquire().await.unwrap(), org, &module, &campaign, self.state.clock.now().date_naive()).await.unwrap();
        let who: Vec<&campaigns::Standing> = standings.iter().filter(|s| s.person.person_id.0 == person).collect();
        let mut tx = self.db().begin().await.unwrap();
        let links = campaigns::issue_links(&mut tx, &self.system(org), self.state.clock.now(), org, id, &who).await.unwrap();
        tx.commit().await.unwrap();
        (id.0, links[0].token.clone())
    }

    /// A yearly awareness module for all staff.
    pub async fn module(&self, org: OrgId, title: &str) -> Uuid {
        use mandate::training::model::{self as training, ModuleFields, ModuleKind};
        let f = ModuleFields { title: title.into(), kind: ModuleKind::Awareness, description: String::new(), validity_months: 12, audience: Audience::AllStaff };
        let mut tx = self.db().begin().await.unwrap();
        let id = training::create_module(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.into()
    }

    pub async fn activity(&self, org: OrgId, name: &str) -> Uuid {
        let mut tx = self.db().begin().await.unwrap();
        let id = mandate::roles::raci::create_activity(&mut tx, &self.system(org), self.state.clock.now(), org, name, None).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// A management review held on `held_on` with typed minutes, chaired by `chair`.
    pub async fn meeting(&self, org: OrgId, title: &str, chair: Uuid, held_on: &str, minutes: &str) -> Uuid {
        use mandate::leadership::meetings::{self, MeetingFields, MeetingKind};
        let f = MeetingFields {
            kind: Some(MeetingKind::ManagementReview),
            title: title.into(),
            held_on: Some(held_on.parse().unwrap()),
            chair_id: Some(mandate::ids::PersonId(chair)),
            attendee_ids: vec![mandate::ids::PersonId(chair)],
            inputs: meetings::INPUTS.iter().map(|(k, _)| k.to_string()).collect(),
            minutes: minutes.into(),
            ..Default::default()
        };
        let mut tx = self.db().begin().await.unwrap();
        let id = meetings::insert(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// Signs a meeting's minutes off directly (as the system, for its chair, naming `name`).
    /// Links an evidence item to a meeting (its minutes file, say).
    pub async fn link_to_meeting(&self, org: OrgId, item: Uuid, meeting: Uuid) {
        use mandate::evidence::model::{Target, TargetKind};
        let mut tx = self.db().begin().await.unwrap();
        mandate::evidence::model::link(&mut tx, &self.system(org), self.state.clock.now(), org, mandate::ids::EvidenceId(item), Target { kind: TargetKind::Meeting, id: meeting })
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn sign_meeting(&self, org: OrgId, meeting: Uuid, name: &str) {
        use mandate::leadership::meetings;
        let mut tx = self.db().begin().await.unwrap();
        let m = meetings::get(&mut *tx, org, mandate::ids::MeetingId(meeting)).await.unwrap();
        let chair = mandate::people::attribution::Signatory { person_id: m.chair_id, name: name.into() };
        meetings::sign(&mut tx, &self.system(org), self.state.clock.now(), org, &m, &chair).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// An open action item from `meeting`.
    pub async fn action_item(&self, org: OrgId, meeting: Uuid, title: &str, owner: Option<Uuid>, due_on: Option<&str>) -> Uuid {
        use mandate::leadership::meetings::{self, ActionFields, ActionStatus};
        let f = ActionFields { title: title.into(), owner_id: owner.map(mandate::ids::PersonId), due_on: due_on.map(|d| d.parse().unwrap()), status: ActionStatus::Open, closing_note: String::new() };
        let mut tx = self.db().begin().await.unwrap();
        let id = meetings::insert_action(&mut tx, &self.system(org), self.state.clock.now(), org, mandate::ids::MeetingId(meeting), &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// A resource decision: approved by `decided_by` on `decided_on`, or pending.
    pub async fn decision(&self, org: OrgId, title: &str, decided_by: Option<Uuid>, decided_on: Option<&str>) -> Uuid {
        use mandate::leadership::decisions::{self, Fields};
        let f = Fields {
            what: decisions::DecisionWhat::Budget,
            title: title.into(),
            decision: if decided_on.is_some() { decisions::Outcome::Approved } else { decisions::Outcome::Pending },
            decided_by: decided_by.map(mandate::ids::PersonId),
            decided_on: decided_on.map(|d| d.parse().unwrap()),
            ..Default::default()
        };
        let mut tx = self.db().begin().await.unwrap();
        let id = decisions::insert(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// An e-mail from `from` to all staff.
    pub async fn communication(&self, org: OrgId, subject: &str, from: Uuid, sent_on: &str) -> Uuid {
        use mandate::leadership::communications::{self, Fields};
        let f = Fields { sent_on: Some(sent_on.parse().unwrap()), from_id: Some(mandate::ids::PersonId(from)), channel: communications::Channel::Email, audience: "All staff".into(), reach: Some(40), subject: subject.into(), ..Default::default() };
        let mut tx = self.db().begin().await.unwrap();
        let id = communications::insert(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    pub async fn objective(&self, org: OrgId, title: &str, owner: Option<Uuid>) -> Uuid {
        use mandate::leadership::objectives::{self, Fields};
        let f = Fields { title: title.into(), measure: "Share of staff trained".into(), target: "95 %".into(), owner_id: owner.map(mandate::ids::PersonId), status: objectives::ObjectiveStatus::OnTrack, ..Default::default() };
        let mut tx = self.db().begin().await.unwrap();
        let id = objectives::insert(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// An unanswered ask of `person`, asked on 2026-10-01.
    pub async fn ask(&self, org: OrgId, person: Uuid, what: &str, due_on: Option<&str>) -> Uuid {
        use mandate::leadership::asks::{self, Fields};
        let f = Fields { asked_of: Some(mandate::ids::PersonId(person)), what: what.into(), asked_on: Some("2026-10-01".parse().unwrap()), due_on: due_on.map(|d| d.parse().unwrap()), ..Default::default() };
        let mut tx = self.db().begin().await.unwrap();
        let id = asks::insert(&mut tx, &self.system(org), self.state.clock.now(), org, &f).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    }

    /// A client already signed in as `user` with `org` selected (no password round trip).
    /// A personal access token of `user`'s membership of `org` with these
    /// scopes (whatever the role: the route's role check is what is tested).
    pub async fn api_token(&self, user: Uuid, org: OrgId, scopes: &[mandate::auth::policy::Scope]) -> String {
        let membership: Uuid = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1 AND org_id = $2").bind(user).bind(org).fetch_one(self.db()).await.unwrap();
        let holder = mandate::api::tokens::Holder { org_id: org, membership_id: mandate::ids::MembershipId(membership), user_id: mandate::ids::UserId(user) };
        let t = mandate::api::tokens::NewToken { name: "Test token".into(), scopes: scopes.to_vec(), days: 30, integration: false };
        let mut tx = self.db().begin().await.unwrap();
        let (_, secret) = mandate::api::tokens::create(&mut tx, &self.system(org), self.state.clock.now(), holder, &t).await.unwrap();
        tx.commit().await.unwrap();
        secret
    }

    /// A client that sends `token` as its bearer token.
    pub fn api_client(&self, token: &str) -> Client {
        let mut c = self.client();
        c.headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        c
    }

    pub async fn signed_in(&self, user: Uuid, org: Option<OrgId>) -> Client {
        let mut conn = self.db().acquire().await.unwrap();
        let cookie = session::start(&mut conn, &self.state, user.into(), org, None).await.unwrap();
        let mut client = self.client();
        client.store_cookie(cookie.to_str().unwrap());
        client
    }
}

pub struct Client {
    router: Router,
    pub cookies: HashMap<String, String>,
    /// Extra headers sent with every request (e.g. Origin).
    pub headers: HeaderMap,
    pub addr: SocketAddr,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as received (downloads).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }
    /// Texts of the elements matching a CSS selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(selector).unwrap();
        self.html().select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
    }
    pub fn has(&self, selector: &str) -> bool {
        !self.texts(selector).is_empty()
    }
    /// An attribute of the first element matching a CSS selector, HTML
    /// entities decoded (a link's `href`, say).
    pub fn attr(&self, selector: &str, name: &str) -> Option<String> {
        let sel = scraper::Selector::parse(selector).unwrap();
        self.html().select(&sel).next().and_then(|e| e.value().attr(name)).map(str::to_string)
    }
    /// The value of the first form's CSRF field.
    pub fn csrf(&self) -> Option<String> {
        let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
        self.html().select(&sel).next().and_then(|e| e.value().attr("value")).map(str::to_string)
    }
}

impl Client {
    pub fn store_cookie(&mut self, set_cookie: &str) {
        let first = set_cookie.split(';').next().unwrap_or("");
        let (name, value) = first.split_once('=').unwrap();
        let expired = set_cookie.contains("Max-Age=0");
        if expired || value.is_empty() {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_string(), value.to_string());
        }
    }

    pub fn signed_in(&self) -> bool {
        self.cookies.contains_key(session::SESSION_COOKIE)
    }

    pub async fn send(&mut self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        self.send_body(method, path, content_type, Body::from(body)).await
    }

    /// Sends any body, e.g. a stream that never ends (the server must not wait for it).
    pub async fn send_body(&mut self, method: Method, path: &str, content_type: Option<&str>, body: Body) -> Resp {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, "localhost:8080");
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let mut req = req.body(body).unwrap();
        req.extensions_mut().insert(ConnectInfo(self.addr));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            self.store_cookie(c.to_str().unwrap());
        }
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }

    /// Signs a policy version as a person would: reads its page (which names
    /// the document's SHA-256) and confirms with `password`.
    pub async fn sign_version(&mut self, version: Uuid, password: &str) -> Resp {
        let page = self.get(&format!("/policies/versions/{version}")).await;
        let sel = scraper::Selector::parse("input[name=document_sha]").unwrap();
        let sha = page.html().select(&sel).next().and_then(|e| e.value().attr("value").map(str::to_string)).unwrap_or_default();
        self.post(&format!("/policies/versions/{version}/sign"), &[("password", password), ("document_sha", &sha)]).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    /// The token a form on a page would carry for this client.
    pub async fn token(&mut self) -> String {
        let page = if self.signed_in() { "/account" } else { "/login" };
        let res = self.get(page).await;
        res.csrf().unwrap_or_default()
    }

    /// Posts a form exactly as a page of the app would (with its CSRF token).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.token().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.send(Method::POST, path, Some("application/x-www-form-urlencoded"), body.into_bytes()).await
    }

    /// Uploads one file as a browser form does (multipart, token in the action URL).
    pub async fn upload(&mut self, path: &str, field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Resp {
        self.multipart(path, &[], Some((field, filename, content_type, bytes))).await
    }

    /// Posts a multipart form: text fields first, then the file, as browsers send them.
    pub async fn multipart(&mut self, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> Resp {
        let token = self.token().await;
        let boundary = "----mandate-test-boundary-7d9f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        if let Some((field, filename, content_type, bytes)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = mandate::auth::csrf::upload_action(path, &token);
        self.send(Method::POST, &url, Some(&format!("multipart/form-data; boundary={boundary}")), body).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Resp {
        self.post("/login", &[("email", email), ("password", password)]).await
    }
}

/// aiosmtpd (from PyPI, which scripts/test installs) on a free port,
/// writing every message it receives to a Maildir; stopped when dropped.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("log"));
    }
}

impl Smtp {
    pub async fn start() -> Smtp {
        use std::process::{Command, Stdio};
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("mandate-maildir-{}", Uuid::new_v4().simple()));
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.with_extension("log")).unwrap())
            .spawn()
            .expect("the mail tests need aiosmtpd: pip install aiosmtpd (scripts/test does this)");
        let mut smtp = Smtp { child, port, dir };
        for _ in 0..200 {
            // Ours answers: it has not exited (another process may hold the port if it lost the race for it).
            if let Some(status) = smtp.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(smtp.dir.with_extension("log")).unwrap_or_default();
                panic!("aiosmtpd exited ({status}) on port {port}: {err}");
            }
            if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let mut greeting = [0u8; 3];
                if tokio::io::AsyncReadExt::read_exact(&mut tokio::io::BufReader::new(stream), &mut greeting).await.is_ok() && &greeting == b"220" {
                    return smtp;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on {port}");
    }

    /// Every message delivered so far, as text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else { return Vec::new() };
        let mut out: Vec<String> = entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
        out.sort();
        out
    }

    /// The messages delivered to `email`.
    pub fn to(&self, email: &str) -> Vec<String> {
        self.messages().into_iter().filter(|m| m.contains(&format!("X-RcptTo: {email}"))).collect()
    }
}

/// A mail server the app can be pointed at, shared with what reads it.
pub type Inbox = std::sync::Arc<Smtp>;

/// A real SMTP server on loopback: its port and its mailbox.
pub async fn smtp_server() -> (u16, Inbox) {
    let smtp = Smtp::start().await;
    (smtp.port, std::sync::Arc::new(smtp))
}

/// Waits (up to 10 s) for a message to `to` and returns it: delivery runs in the background.
pub async fn mail_to(inbox: &Inbox, to: &str) -> String {
    for _ in 0..200 {
        if let Some(m) = inbox.to(to).into_iter().next() {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message to {to} arrived");
}

/// The path of the first link in a message that starts with `prefix`.
pub fn link_in(mail: &str, prefix: &str) -> String {
    let line = mail.lines().find(|l| l.trim().starts_with(prefix)).unwrap_or_else(|| panic!("no link to {prefix} in {mail}"));
    url::Url::parse(line.trim()).unwrap().path().to_string()
}

/// Acme Ltd as most area tests start it: an owner, an ISMS lead, and a CEO
/// who is top management and acts with their own account.
pub struct AcmeCore {
    pub app: TestApp,
    pub org: OrgId,
    pub owner: Uuid,
    pub lead_user: Uuid,
    pub ceo_user: Uuid,
    /// The CEO in the directory.
    pub ceo: Uuid,
}

pub async fn acme_core(db: PgPool) -> AcmeCore {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead_user = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead_user, mandate::auth::policy::Role::IsmsLead).await;
    let ceo_user = app.user("ceo@acme.example", "Cee Eo").await;
    app.member(org, ceo_user, mandate::auth::policy::Role::Executive).await;
    let ceo = app.person(org, "Cee Eo", "ceo@acme.example", true).await;
    app.link(org, ceo, ceo_user).await;
    AcmeCore { app, org, owner, lead_user, ceo_user, ceo }
}

/// The id at the end of a redirect's location, after `prefix`.
pub fn id_after(location: &str, prefix: &str) -> Uuid {
    location.trim_start_matches(prefix).parse().unwrap_or_else(|_| panic!("no id in {location}"))
}
