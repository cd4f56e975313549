//! The demo organisation loaded into an empty database, so a first run has
//! something to look at: Acme Ltd, one login per role.
use crate::ids::OrgId;
use crate::audit::Actor;
use crate::auth::password;
use crate::auth::policy::Role;
use crate::clock::Clock;
use crate::evidence::store::EvidenceStore;
use crate::orgs::model;
use base64::Engine;
use chrono::Duration;
use sqlx::PgPool;

pub const ORG_NAME: &str = "Acme Ltd";

pub struct DemoLogin {
    pub role: Role,
    pub name: &'static str,
    pub email: &'static str,
    pub password: String,
}

const PEOPLE: [(Role, &str, &str); 5] = [
    (Role::Owner, "Morgan Reyes", "morgan.reyes@acme.example"),
    (Role::IsmsLead, "Priya Shah", "priya.shah@acme.example"),
    (Role::Executive, "Daniel Okafor", "daniel.okafor@acme.example"),
    (Role::Contributor, "Grace Liu", "grace.liu@acme.example"),
    (Role::Auditor, "Sam Whitfield", "sam.whitfield@certbody.example"),
];

/// Loads the demo when the database has no organisation yet. Passwords are
/// random for every installation: a demo must not open a known door.
pub async fn load_if_empty(db: &PgPool, store: &EvidenceStore, clock: &dyn Clock, ttl: Duration) -> anyhow::Result<Option<Vec<DemoLogin>>> {
    let mut tx = db.begin().await?;
    // One loader at a time, even with several app processes starting together.
    sqlx::query!("SELECT 1 AS locked FROM pg_advisory_xact_lock(727272)").fetch_one(&mut *tx).await?;
    let any = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM organisations) AS "any!""#).fetch_one(&mut *tx).await?;
    if any {
        return Ok(None);
    }
    let now = clock.now();
    let org_id = OrgId::new();
    let system = Actor::system(Some(org_id), "demo loader");
    let mut logins = Vec::new();
    let mut owner = None;
    for (role, name, email) in PEOPLE {
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
        let hash = password::hash(secret.clone()).await?;
        let id = model::create_user(&mut tx, &system, now, email, name, &hash)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo user {email} already exists"))?;
        match owner {
            None => {
                model::create_organisation(&mut tx, &system, now, org_id, ORG_NAME, id).await?;
                owner = Some(id);
            }
            Some(_) => {
                model::add_membership(&mut tx, &system, now, org_id, id, role).await?;
            }
        }
        logins.push(DemoLogin { role, name, email, password: secret });
    }
    // The CFO has been invited but has not joined yet.
    let inviter = Actor { user_id: owner, label: PEOPLE[0].2.into(), ..system.clone() };
    model::create_invitation(&mut tx, &inviter, now, ttl, org_id, model::Invitee { email: "helen.brandt@acme.example", role: Role::Executive, window: Default::default() }).await?;
    records::load(&mut tx, store, &system, now, org_id).await?;
    tx.commit().await?;
    Ok(Some(logins))
}

/// Acme's records: a plausible, half-compliant state for every area.
mod records {
    use crate::ids::{OrgId, UserId};
    use crate::audit::Actor;
    use crate::evidence::model::{self as evidence, ItemFields, NewRevision, Target, TargetKind};
    use crate::evidence::store::EvidenceStore;
    use crate::people::model::{self as people, Kind, PersonFields};
    use crate::requirements::{catalogue, model as requirements};
    use crate::roles::model::{self as roles, Acceptance, Capacity, NewAppointment, RoleFields};
    use crate::roles::{raci, starter};
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use sqlx::PgConnection;
    use std::collections::HashMap;
    use uuid::Uuid;

    /// (name, email, title, department, manager email, contractor, top management, line manager, security clause, start, end)
    type Staff = (&'static str, &'static str, &'static str, &'static str, &'static str, bool, bool, bool, bool, &'static str, &'static str);

    const STAFF: [Staff; 25] = [
        ("Daniel Okafor", "daniel.okafor@acme.example", "Chief Executive Officer", "Board", "", false, true, true, true, "2015-04-01", ""),
        ("Helen Brandt", "helen.brandt@acme.example", "Chief Financial Officer", "Board", "daniel.okafor@acme.example", false, true, true, true, "2018-09-03", ""),
        ("Morgan Reyes", "morgan.reyes@acme.example", "Operations Director", "Operations", "daniel.okafor@acme.example", false, false, true, true, "2016-01-11", ""),
        ("Priya Shah", "priya.shah@acme.example", "Head of Information Security", "Operations", "morgan.reyes@acme.example", false, false, true, true, "2021-02-01", ""),
        ("Grace Liu", "grace.liu@acme.example", "HR Manager", "People", "morgan.reyes@acme.example", false, false, true, true, "2019-06-17", ""),
        ("Tomasz Nowak", "tomasz.nowak@acme.example", "IT Manager", "IT", "morgan.reyes@acme.example", false, false, true, true, "2017-03-06", ""),
        ("Aisha Bello", "aisha.bello@acme.example", "Systems Administrator", "IT", "tomasz.nowak@acme.example", false, false, false, true, "2020-10-05", ""),
        ("Lars Eriksen", "lars.eriksen@acme.example", "Service Desk Analyst", "IT", "tomasz.nowak@acme.example", false, false, false, true, "2023-01-09", ""),
        ("Sofia Marchetti", "sofia.marchetti@acme.example", "Head of Engineering", "Engineering", "daniel.okafor@acme.example", false, false, true, true, "2017-08-14", ""),
        ("Kwame Mensah", "kwame.mensah@acme.example", "Senior Developer", "Engineering", "sofia.marchetti@acme.example", false, false, false, true, "2019-11-04", ""),
        ("Elena Petrova", "elena.petrova@acme.example", "Developer", "Engineering", "sofia.marchetti@acme.example", false, false, false, true, "2022-05-02", ""),
        ("Jamal Rahman", "jamal.rahman@acme.example", "Developer", "Engineering", "sofia.marchetti@acme.example", true, false, false, false, "2025-02-03", ""),
        ("Chloe Martin", "chloe.martin@acme.example", "QA Engineer", "Engineering", "sofia.marchetti@acme.example", false, false, false, true, "2021-07-19", ""),
        ("Oliver Hughes", "oliver.hughes@acme.example", "Sales Director", "Sales", "daniel.okafor@acme.example", false, false, true, true, "2016-05-23", ""),
        ("Nina Kowalski", "nina.kowalski@acme.example", "Account Manager", "Sales", "oliver.hughes@acme.example", false, false, false, true, "2020-02-10", ""),
        ("Ravi Patel", "ravi.patel@acme.example", "Account Manager", "Sales", "oliver.hughes@acme.example", false, false, false, false, "2024-03-04", ""),
        ("Hannah Schmidt", "hannah.schmidt@acme.example", "Customer Success Lead", "Customer Success", "oliver.hughes@acme.example", false, false, true, true, "2018-04-16", ""),
        ("Diego Alvarez", "diego.alvarez@acme.example", "Support Specialist", "Customer Success", "hannah.schmidt@acme.example", false, false, false, true, "2022-09-12", ""),
        ("Mei Tanaka", "mei.tanaka@acme.example", "Support Specialist", "Customer Success", "hannah.schmidt@acme.example", true, false, false, false, "2025-06-02", ""),
        ("Fatima Zahra", "fatima.zahra@acme.example", "Finance Manager", "Finance", "helen.brandt@acme.example", false, false, true, true, "2019-01-07", ""),
        ("George Ellis", "george.ellis@acme.example", "Accounts Assistant", "Finance", "fatima.zahra@acme.example", false, false, false, true, "2023-08-21", ""),
        ("Isabel Costa", "isabel.costa@acme.example", "Office Manager", "Operations", "morgan.reyes@acme.example", false, false, false, true, "2018-02-05", ""),
        ("Peter Lang", "peter.lang@auditpartners.example", "Internal Auditor (external)", "Operations", "morgan.reyes@acme.example", true, false, false, true, "2024-01-15", ""),
        ("Yusuf Demir", "yusuf.demir@acme.example", "Graduate Developer", "Engineering", "kwame.mensah@acme.example", false, false, false, true, "2026-11-30", ""),
        ("Rafael Duarte", "rafael.duarte@acme.example", "Chief Technology Officer", "Engineering", "daniel.okafor@acme.example", false, false, true, true, "2020-05-04", ""),
    ];

    fn date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }

    pub async fn load(conn: &mut PgConnection, store: &EvidenceStore, system: &Actor, now: DateTime<Utc>, org_id: OrgId) -> anyhow::Result<()> {
        let today = now.date_naive();
        // The demo's records are as if they had always been so: no history of values.
        crate::history::off(&mut *conn).await?;
        // People first, then their managers (a manager may come later in the list).
        let mut ids: HashMap<&str, Uuid> = HashMap::new();
        let users: HashMap<String, UserId> = sqlx::query!(
            r#"SELECT u.email, u.id AS "id: UserId" FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = $1"#,
            org_id.0
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|u| (u.email, u.id))
        .collect();
        let fields = |s: &Staff, manager: Option<Uuid>| PersonFields {
            name: s.0.into(),
            email: s.1.into(),
            job_title: s.2.into(),
            department: s.3.into(),
            manager_id: manager.map(Into::into),
            kind: if s.5 { Kind::Contractor } else { Kind::Employee },
            top_management: s.6,
            line_manager: s.7,
            security_clause: s.8,
            start_date: date(s.9),
            end_date: date(s.10),
        };
        for s in &STAFF {
            let id = people::create(conn, system, now, org_id, &fields(s, None), users.get(s.1).copied()).await?;
            ids.insert(s.1, id.into());
        }
        for s in &STAFF {
            if let Some(m) = ids.get(s.4) {
                people::update(conn, system, now, org_id, ids[s.1].into(), &fields(s, Some(*m))).await?;
            }
        }
        crate::people::roster::model::record_seeded(conn, org_id).await?;
        let person = |email: &str| ids[email];

        // Roles: the starting set, except that nobody was given 5.3(b).
        let mut role_ids: HashMap<&str, crate::ids::RoleId> = HashMap::new();
        for r in &starter::ROLES {
            let f = RoleFields {
                name: r.name.into(),
                responsibilities: r.responsibilities.into(),
                authorities: if r.name == "Departmental contact" { String::new() } else { r.authorities.into() },
                carries_conformance: r.conformance,
                carries_reporting: false,
            };
            role_ids.insert(r.name, roles::create_role(conn, system, now, org_id, &f).await?);
        }
        let ceo = person("daniel.okafor@acme.example");
        let link = Acceptance { via: roles::AcceptedVia::Link, client_addr: "203.0.113.7".into(), user_agent: "demo".into(), token_hash: None };
        // (role, holder, appointer, days ago, confirmed by the appointer, accepted)
        let appointments: [(&str, &str, &str, i64, bool, bool); 7] = [
            ("Top-management sponsor", "daniel.okafor@acme.example", "daniel.okafor@acme.example", 400, true, true),
            ("ISMS lead", "priya.shah@acme.example", "daniel.okafor@acme.example", 380, true, true),
            ("Internal auditor", "peter.lang@auditpartners.example", "helen.brandt@acme.example", 300, true, true),
            ("HR manager", "grace.liu@acme.example", "morgan.reyes@acme.example", 250, false, true),
            ("Risk owner", "sofia.marchetti@acme.example", "daniel.okafor@acme.example", 120, true, false),
            ("IT manager", "tomasz.nowak@acme.example", "daniel.okafor@acme.example", 20, false, false),
            ("Departmental contact", "isabel.costa@acme.example", "daniel.okafor@acme.example", 500, true, true),
        ];
        for (role_name, holder, appointer, ago, confirmed, accepted) in appointments {
            let role = roles::role_any(conn, org_id, role_ids[role_name]).await?;
            let new = NewAppointment {
                person_id: crate::ids::PersonId(person(holder)),
                capacity: Capacity::Holder,
                appointed_by: crate::ids::PersonId(person(appointer)),
                appointed_on: today - Duration::days(ago),
                record_anyway: true,
            };
            let recorder = confirmed.then(|| crate::ids::PersonId(person(appointer)));
            let Ok((id, _)) = roles::appoint(conn, system, now, org_id, &role, &new, recorder).await? else {
                anyhow::bail!("demo appointment to {role_name} refused");
            };
            if accepted {
                let a = roles::appointment(conn, org_id, id).await?;
                roles::accept(conn, &Actor { label: format!("{} (personal link)", a.person_name), ..system.clone() }, now, org_id, &a, &link).await?;
            }
        }
        // The departmental contact has since left, so that role is vacant.
        people::mark_leaver(conn, system, now, org_id, person("isabel.costa@acme.example").into(), today - Duration::days(54)).await?;
        let deputy = roles::role_any(conn, org_id, role_ids["ISMS lead"]).await?;
        let new = NewAppointment {
            person_id: crate::ids::PersonId(person("aisha.bello@acme.example")),
            capacity: Capacity::Deputy,
            appointed_by: crate::ids::PersonId(ceo),
            appointed_on: today - Duration::days(200),
            record_anyway: false,
        };
        if roles::appoint(conn, system, now, org_id, &deputy, &new, Some(crate::ids::PersonId(ceo))).await?.is_err() {
            anyhow::bail!("demo deputy refused");
        }

        // The RACI matrix, with one row that has two accountable roles, and
        // the 5.3(b) row with nobody accountable: nobody was given 5.3(b).
        let all_roles = roles::roles(&mut *conn, org_id).await?;
        raci::add_starting_activities(conn, system, now, org_id, &all_roles).await?;
        sqlx::query!(
            "UPDATE raci_cells SET letters = 'R' FROM raci_activities a
              WHERE raci_cells.org_id = $1 AND a.org_id = $1 AND a.id = raci_cells.activity_id
                AND a.assignment = '5.3(b)' AND raci_cells.letters IN ('A', 'AR')",
            org_id.0,
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "UPDATE raci_cells SET letters = 'A' FROM raci_activities a
              WHERE raci_cells.org_id = $1 AND a.org_id = $1 AND a.id = raci_cells.activity_id
                AND a.name = 'Respond to information security incidents' AND raci_cells.role_id = $2",
            org_id.0,
            role_ids["IT manager"].0
        )
        .execute(&mut *conn)
        .await?;

        // Requirement owners and progress.
        let plan: [(&str, &str, requirements::Status, &str); 12] = [
            ("5.1(a)", "daniel.okafor@acme.example", requirements::Status::InProgress, "Objectives drafted for FY26; board sign-off due at the next review."),
            ("5.1(c)", "helen.brandt@acme.example", requirements::Status::Implemented, "Security budget approved in the annual plan."),
            ("5.1(d)", "daniel.okafor@acme.example", requirements::Status::NotStarted, ""),
            ("5.1(e)", "priya.shah@acme.example", requirements::Status::InProgress, ""),
            ("5.2(a)", "priya.shah@acme.example", requirements::Status::Implemented, ""),
            ("5.2(b)", "priya.shah@acme.example", requirements::Status::Implemented, ""),
            ("5.2(c)", "priya.shah@acme.example", requirements::Status::Implemented, ""),
            ("5.2(d)", "priya.shah@acme.example", requirements::Status::InProgress, "Continual improvement wording to be added in the next version."),
            ("5.2(f)", "grace.liu@acme.example", requirements::Status::InProgress, "Acknowledgements are being collected."),
            ("5.3", "priya.shah@acme.example", requirements::Status::InProgress, ""),
            ("5.3(a)", "daniel.okafor@acme.example", requirements::Status::Implemented, "Priya Shah appointed ISMS lead by the CEO."),
            ("A.5.4", "grace.liu@acme.example", requirements::Status::InProgress, "Contract clause missing for some contractors."),
        ];
        for (code, owner, status, notes) in plan {
            let id = catalogue::requirement_id("iso27001-2022-leadership", code);
            let before = requirements::get(&mut *conn, org_id, id, today).await?;
            let state = requirements::State {
                applicable: true,
                exclusion_reason: String::new(),
                exclusion_approved_by: None,
                owner_id: Some(crate::ids::PersonId(person(owner))),
                status,
                notes: notes.into(),
            };
            requirements::save(conn, system, now, org_id, &before, &state).await?;
        }

        // Evidence: a signed policy, review minutes, an appointment letter, and
        // one item that has expired.
        let isms_lead_appointment = sqlx::query_scalar!(
            "SELECT a.id FROM role_appointments a JOIN isms_roles r ON r.org_id = a.org_id AND r.id = a.role_id
              WHERE a.org_id = $1 AND r.name = 'ISMS lead' AND a.capacity = 'holder'",
            org_id.0
        )
        .fetch_one(&mut *conn)
        .await?;
        let req = |code: &str| Target { kind: TargetKind::Requirement, id: catalogue::requirement_id("iso27001-2022-leadership", code).0 };
        let days = |n: i64| Some(today - Duration::days(n));
        let samples: Vec<Sample> = vec![
            Sample {
                title: "Information security policy v1.0 (signed copy)",
                kind: evidence::Kind::SignedStatement,
                date: days(200),
                valid_until: None,
                months: Some(12),
                owner: "priya.shah@acme.example",
                file: Some(("information-security-policy-v1.0.pdf", pdf("Information Security Policy v1.0", &[
                    "Signed by Rafael Duarte, Chief Technology Officer.",
                    "Acme protects the information of its customers and staff in line with its business goals.",
                    "Security objectives are set yearly and reviewed at the management review.",
                    "Acme commits to meet applicable legal, regulatory and contractual requirements.",
                ]))),
                url: None,
                links: vec![req("5.2(a)"), req("5.2(b)"), req("5.2(c)"), req("5.2(e)")],
            },
            Sample {
                title: "Management review minutes, spring",
                kind: evidence::Kind::Minutes,
                date: days(150),
                valid_until: None,
                months: Some(12),
                owner: "daniel.okafor@acme.example",
                file: Some(("management-review-minutes.pdf", pdf("Management review minutes", &[
                    "Chair: Daniel Okafor. Present: Helen Brandt, Priya Shah, Tomasz Nowak.",
                    "Inputs: actions from the last review, audit results, risk assessment, incidents.",
                    "Decision: approve budget for endpoint protection. Action: Tomasz Nowak.",
                ]))),
                url: None,
                links: vec![req("5.1(e)"), req("5.1(g)")],
            },
            Sample {
                title: "ISMS lead appointment letter",
                kind: evidence::Kind::SignedStatement,
                date: days(380),
                valid_until: None,
                months: None,
                owner: "daniel.okafor@acme.example",
                file: Some(("isms-lead-appointment.pdf", pdf("Appointment of the ISMS lead", &[
                    "I appoint Priya Shah as ISMS lead, responsible for keeping the ISMS in line with ISO/IEC 27001.",
                    "Signed: Daniel Okafor, Chief Executive Officer.",
                ]))),
                url: None,
                links: vec![req("5.3(a)"), Target { kind: TargetKind::Appointment, id: isms_lead_appointment }],
            },
            Sample {
                title: "Security budget approval FY26",
                kind: evidence::Kind::RecordExport,
                date: days(300),
                valid_until: None,
                months: Some(12),
                owner: "helen.brandt@acme.example",
                file: Some(("security-budget-fy26.md", b"# Security budget FY26\n\nApproved by the board: endpoint protection, awareness training, external audit.\n".to_vec())),
                url: None,
                links: vec![req("5.1(c)")],
            },
            Sample {
                title: "Staff list with contract clauses",
                kind: evidence::Kind::RecordExport,
                date: days(10),
                valid_until: None,
                months: Some(3),
                owner: "grace.liu@acme.example",
                file: Some(("staff-contract-clauses.csv", b"name,security_clause\nJamal Rahman,no\nMei Tanaka,no\nRavi Patel,no\n".to_vec())),
                url: None,
                links: vec![req("A.5.4")],
            },
            Sample {
                title: "Awareness training plan 2025",
                kind: evidence::Kind::Document,
                date: days(400),
                valid_until: days(20),
                months: None,
                owner: "grace.liu@acme.example",
                file: Some(("awareness-training-plan-2025.pdf", pdf("Awareness training plan 2025", &["Quarterly phishing exercises and a yearly e-learning module for all staff."]))),
                url: None,
                links: vec![req("A.5.4")],
            },
            Sample {
                title: "Security pages on the intranet",
                kind: evidence::Kind::ExternalLink,
                date: days(30),
                valid_until: None,
                months: None,
                owner: "priya.shah@acme.example",
                file: None,
                url: Some("https://intranet.acme.example/security"),
                links: vec![req("5.2(f)")],
            },
        ];
        for s in samples {
            let id = crate::ids::EvidenceId::new();
            let f = ItemFields {
                title: s.title.into(),
                description: String::new(),
                kind: s.kind,
                external_url: s.url.map(str::to_string),
                evidence_date: s.date,
                valid_until: s.valid_until,
                review_interval_months: s.months,
                owner_id: Some(crate::ids::PersonId(person(s.owner))),
            };
            evidence::create(conn, system, now, org_id, id, &f).await?;
            if let Some((name, bytes)) = s.file {
                let revision = crate::ids::RevisionId::new();
                let key = EvidenceStore::key_for(org_id, revision);
                let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
                let r = store.receive(&key, body, u64::MAX, name).await.map_err(|e| anyhow::anyhow!("demo file {name}: {e}"))?;
                let rev = NewRevision { id: revision, key: &key, filename: name, content_type: r.file_type.mime(), size: r.size, sha256: &r.sha256 };
                evidence::add_revision(conn, system, now, org_id, id, &rev).await?;
            }
            for t in s.links {
                evidence::link(conn, system, now, org_id, id, t).await?;
            }
        }
        policies_and_training(conn, system, now, org_id, &ids).await?;
        let priya = Actor { user_id: users.get("priya.shah@acme.example").copied(), label: "priya.shah@acme.example".into(), ..system.clone() };
        leadership(conn, &priya, now, org_id, &ids).await?;
        give_records_their_history(conn, system, now, org_id).await?;
        Ok(())
    }

    /// Records were all written just now; date them to when they would have
    /// come about (people when they started, evidence on its date, training
    /// when it was done), so views as of a past day and the trend chart show
    /// a history. Signed versions and minutes were written with their dates.
    async fn give_records_their_history(conn: &mut PgConnection, system: &Actor, now: DateTime<Utc>, org_id: OrgId) -> anyhow::Result<()> {
        let org = org_id.0;
        sqlx::query!("UPDATE people SET created_at = LEAST(created_at, COALESCE(start_date, DATE '2015-01-01')::timestamptz) WHERE org_id = $1", org)
            .execute(&mut *conn)
            .await?;
        sqlx::query!("UPDATE isms_roles SET created_at = $2::timestamptz - interval '520 days' WHERE org_id = $1", org, now).execute(&mut *conn).await?;
        sqlx::query!("UPDATE raci_activities SET created_at = $2::timestamptz - interval '500 days' WHERE org_id = $1", org, now).execute(&mut *conn).await?;
        sqlx::query!(
            "UPDATE role_appointments SET created_at = LEAST(created_at, appointed_on::timestamptz),
                    confirmed_at = CASE WHEN confirmed_at IS NOT NULL THEN LEAST(confirmed_at, appointed_on::timestamptz + interval '1 day') END,
                    accepted_at = CASE WHEN accepted_at IS NOT NULL THEN LEAST(accepted_at, appointed_on::timestamptz + interval '5 days') END
              WHERE org_id = $1 AND appointed_on IS NOT NULL",
            org
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "UPDATE evidence_items SET created_at = LEAST(created_at, evidence_date::timestamptz) WHERE org_id = $1 AND evidence_date IS NOT NULL",
            org
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "UPDATE evidence_links l SET linked_at = i.created_at FROM evidence_items i
              WHERE l.org_id = $1 AND i.org_id = l.org_id AND i.id = l.item_id AND l.linked_at > i.created_at AND l.target_kind IN ('requirement', 'appointment')",
            org
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!("UPDATE training_modules SET created_at = $2::timestamptz - interval '800 days' WHERE org_id = $1", org, now).execute(&mut *conn).await?;
        sqlx::query!(
            "UPDATE training_records SET recorded_at = LEAST(recorded_at, completed_on::timestamptz + interval '1 day') WHERE org_id = $1",
            org
        )
        .execute(&mut *conn)
        .await?;
        // Decisions were entered when they were taken, not later.
        sqlx::query!("UPDATE resource_decisions SET recorded_at = created_at WHERE org_id = $1", org).execute(&mut *conn).await?;
        crate::audit::record(conn, system, now, "organisation.demo_dated", "organisation", org_id, serde_json::json!({"note": "demo records dated to when they came about"})).await?;
        Ok(())
    }

    /// Leadership records: a spring review signed off with its minutes file,
    /// an autumn review held without minutes, an overdue action, no resource
    /// decision in the last year, one all-hands talk, objectives and an
    /// unanswered ask of the CEO.
    async fn leadership(conn: &mut PgConnection, lead: &Actor, now: DateTime<Utc>, org_id: OrgId, ids: &HashMap<&str, Uuid>) -> anyhow::Result<()> {
        use crate::leadership::meetings::{self, ActionFields, ActionStatus, MeetingFields, MeetingKind};
        use crate::leadership::{asks, communications, decisions, objectives};
        let today = now.date_naive();
        let person = |email: &str| crate::ids::PersonId(ids[email]);
        let day = |n: i64| today - Duration::days(n);
        let ago = |n: i64| now - Duration::days(n);
        let (ceo, cfo, priya, tomasz, sofia) = (
            person("daniel.okafor@acme.example"),
            person("helen.brandt@acme.example"),
            person("priya.shah@acme.example"),
            person("tomasz.nowak@acme.example"),
            person("sofia.marchetti@acme.example"),
        );

        sqlx::query!("UPDATE organisations SET review_cadence_months = 6 WHERE id = $1", org_id.0).execute(&mut *conn).await?;
        let phishing = objectives::insert(
            conn,
            lead,
            ago(160),
            org_id,
            &objectives::Fields {
                title: "Fewer staff fall for phishing".into(),
                measure: "Share of staff who click the quarterly simulated phishing e-mail".into(),
                target: "Below 5 % by the end of the year".into(),
                owner_id: Some(priya),
                due_on: Some(day(-40)),
                status: objectives::ObjectiveStatus::OnTrack,
                strategy_link: "Customers in the enterprise segment ask for evidence of security awareness before signing.".into(),
            },
        )
        .await?;
        objectives::insert(
            conn,
            lead,
            ago(160),
            org_id,
            &objectives::Fields {
                title: "ISO/IEC 27001 certification".into(),
                measure: "Stage 2 audit passed".into(),
                target: "Certificate issued".into(),
                owner_id: Some(ceo),
                due_on: Some(day(-200)),
                status: objectives::ObjectiveStatus::AtRisk,
                strategy_link: "Required by two of the three largest prospects.".into(),
            },
        )
        .await?;

        // Spring: a full review, signed off by the chair two days later.
        let spring = MeetingFields {
            kind: Some(MeetingKind::ManagementReview),
            title: "Management review, spring".into(),
            planned_on: Some(day(150)),
            held_on: Some(day(150)),
            chair_id: Some(ceo),
            attendee_ids: vec![ceo, cfo, priya, tomasz],
            inputs: ["earlier_actions", "performance", "risk", "improvement"].map(String::from).to_vec(),
            objective_ids: vec![phishing],
            minutes: "The ISMS lead presented the internal audit results and the risk register. Two audit findings remain open.".into(),
            decisions: "Approve budget for endpoint protection. Run quarterly phishing simulations.".into(),
        };
        let spring_id = meetings::insert(conn, lead, ago(149), org_id, &spring).await?;
        let minutes_file = sqlx::query_scalar!("SELECT id FROM evidence_items WHERE org_id = $1 AND title = 'Management review minutes, spring'", org_id.0)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(item) = minutes_file {
            crate::evidence::model::link(conn, lead, ago(149), org_id, crate::ids::EvidenceId(item), crate::evidence::model::Target { kind: crate::evidence::model::TargetKind::Meeting, id: spring_id.0 }).await?;
        }
        let chair = Actor { user_id: None, label: "Daniel Okafor".into(), ..lead.clone() };
        let m = meetings::get(&mut *conn, org_id, spring_id).await?;
        let daniel = crate::people::attribution::Signatory { person_id: Some(ceo), name: "Daniel Okafor".into() };
        meetings::sign(conn, &chair, ago(148), org_id, &m, &daniel).await?;
        let action = |title: &str, owner: crate::ids::PersonId, due: i64| ActionFields { title: title.into(), owner_id: Some(owner), due_on: Some(day(due)), status: ActionStatus::Open, closing_note: String::new() };
        meetings::insert_action(conn, lead, ago(148), org_id, spring_id, &action("Roll out endpoint protection to every laptop", tomasz, 60)).await?;
        let done = meetings::insert_action(conn, lead, ago(148), org_id, spring_id, &action("Start quarterly phishing simulations", priya, 90)).await?;
        let before = meetings::action(&mut *conn, org_id, done).await?;
        let closed = ActionFields { status: ActionStatus::Done, closing_note: "First simulation sent in June; results go to each review.".into(), ..action("Start quarterly phishing simulations", priya, 90) };
        meetings::save_action(conn, lead, ago(95), org_id, &before, &closed).await?;

        // Autumn: held, but nobody has written the minutes up.
        let autumn = MeetingFields {
            kind: Some(MeetingKind::ManagementReview),
            title: "Management review, autumn".into(),
            planned_on: Some(day(42)),
            held_on: Some(day(40)),
            chair_id: Some(ceo),
            attendee_ids: vec![ceo, priya, sofia],
            inputs: vec!["earlier_actions".into()],
            ..Default::default()
        };
        meetings::insert(conn, lead, ago(39), org_id, &autumn).await?;

        // The last resource decision is over a year old; a new request waits.
        decisions::insert(
            conn,
            lead,
            ago(420),
            org_id,
            &decisions::Fields {
                what: decisions::DecisionWhat::Tooling,
                title: "Endpoint protection licences for 60 devices".into(),
                amount: Some(rust_decimal::Decimal::from(18_000)),
                currency: Some("EUR".into()),
                reason: "Risk register: ransomware on unmanaged laptops.".into(),
                asked_by: Some(priya),
                asked_on: Some(day(440)),
                decided_by: Some(cfo),
                decision: decisions::Outcome::Approved,
                decided_on: Some(day(425)),
                ..Default::default()
            },
        )
        .await?;
        decisions::insert(
            conn,
            lead,
            ago(30),
            org_id,
            &decisions::Fields {
                what: decisions::DecisionWhat::Budget,
                title: "External certification audit".into(),
                amount: Some(rust_decimal::Decimal::from(24_000)),
                currency: Some("EUR".into()),
                reason: "Stage 1 and stage 2 audits for ISO/IEC 27001 certification.".into(),
                objective_id: None,
                asked_by: Some(priya),
                asked_on: Some(day(30)),
                decision: decisions::Outcome::Pending,
                ..Default::default()
            },
        )
        .await?;

        communications::insert(
            conn,
            lead,
            ago(89),
            org_id,
            &communications::Fields {
                sent_on: Some(day(90)),
                from_id: Some(ceo),
                channel: communications::Channel::AllHands,
                audience: "All staff".into(),
                reach: Some(38),
                subject: "Why we are going for ISO 27001".into(),
                summary: "Daniel explained what certification means for our customers and asked every team to finish the awareness module.".into(),
                policy_version_id: None,
            },
        )
        .await?;

        asks::insert(
            conn,
            lead,
            ago(40),
            org_id,
            &asks::Fields {
                asked_of: Some(ceo),
                what: "Please sign the information security policy yourself: the current version was approved by the CTO.".into(),
                asked_on: Some(day(40)),
                due_on: Some(day(10)),
                ..Default::default()
            },
        )
        .await?;
        asks::insert(
            conn,
            lead,
            ago(60),
            org_id,
            &asks::Fields {
                asked_of: Some(cfo),
                what: "Confirm the security budget line for next year.".into(),
                asked_on: Some(day(60)),
                due_on: Some(day(45)),
                response: "Confirmed at the same level as this year.".into(),
                responded_on: Some(day(50)),
            },
        )
        .await?;
        Ok(())
    }

    /// Policies (the IS policy signed by the CTO, not the CEO, 14 months ago),
    /// partial acknowledgements, and training the CEO never took.
    async fn policies_and_training(conn: &mut PgConnection, system: &Actor, now: DateTime<Utc>, org_id: OrgId, ids: &HashMap<&str, Uuid>) -> anyhow::Result<()> {
        use crate::people::audience::Audience;
        use crate::policies::acks::model::{self as acks, Method};
        use crate::policies::campaigns::model as campaigns;
        use crate::policies::versions::model::{self as policies, Bump, Draft, PolicyFields, PolicyKind, Signer};
        use crate::training::model::{self as training, Completion, ModuleFields, ModuleKind};
        let today = now.date_naive();
        let person = |email: &str| crate::ids::PersonId(ids[email]);
        let ago = |days: i64| now - Duration::days(days);
        let signer = |email: &str, name: &str, top: bool| Signer {
            user_id: None,
            name: name.into(),
            person_id: Some(person(email)),
            top_management: top,
            client_addr: "203.0.113.20".into(),
            user_agent: "demo".into(),
            passkey: None,
        };
        let policy = |title: &str, kind: PolicyKind, public: bool| PolicyFields {
            title: title.into(),
            kind,
            owner_id: Some(person("priya.shah@acme.example")),
            review_months: 12,
            audience: crate::policies::versions::model::default_audience(kind),
            audience_reason: String::new(),
            public,
        };
        // (policy, [(text, bump, days ago, signer)])
        let is_text = "# Information security policy\n\nAcme protects the information of its customers and staff.\n\n\
## Objectives\n\nSecurity objectives are set every year and reviewed at the management review.\n\n\
## Obligations\n\nWe meet the legal, regulatory and contractual requirements that apply to us.\n";
        let is_policy = policies::create(conn, system, ago(500), org_id, &policy("Information security policy", PolicyKind::IsPolicy, true)).await?;
        let is_fields = policies::get(&mut *conn, org_id, is_policy).await?;
        let draft = Draft {
            change_summary: "Rewritten for ISO/IEC 27001:2022.".into(),
            body_markdown: Some(is_text.into()),
            checks: [Some("Opening paragraph".into()), Some("Objectives".into()), Some("Obligations".into()), None],
            evidence_revision_id: None,
            signer_requested: None,
        };
        let (is_v2, _) = policies::create_version(conn, system, ago(430), org_id, &is_fields, Bump::Major, &draft).await?;
        let v = policies::version(&mut *conn, org_id, is_v2).await?;
        policies::sign(conn, system, ago(425), org_id, &v, &signer("rafael.duarte@acme.example", "Rafael Duarte", false)).await?;

        let aup = policies::create(conn, system, ago(400), org_id, &policy("Acceptable use policy", PolicyKind::AcceptableUse, false)).await?;
        let aup_fields = policies::get(&mut *conn, org_id, aup).await?;
        let aup_draft = Draft {
            change_summary: "Clarified personal use of company laptops.".into(),
            body_markdown: Some("# Acceptable use\n\nCompany devices and accounts are for work. Lock your screen, report losses at once, never share passwords.\n".into()),
            ..Draft::default()
        };
        let (aup_v1, _) = policies::create_version(conn, system, ago(160), org_id, &aup_fields, Bump::Major, &aup_draft).await?;
        let v = policies::version(&mut *conn, org_id, aup_v1).await?;
        policies::sign(conn, system, ago(150), org_id, &v, &signer("daniel.okafor@acme.example", "Daniel Okafor", true)).await?;

        let statement = policies::create(conn, system, ago(320), org_id, &policy("Senior management statement", PolicyKind::ManagementStatement, true)).await?;
        let st_fields = policies::get(&mut *conn, org_id, statement).await?;
        let st_draft = Draft {
            change_summary: "Yearly statement.".into(),
            body_markdown: Some("# From the CEO\n\nEveryone at Acme, staff and contractors, follows our security policies. I do too.\n".into()),
            ..Draft::default()
        };
        let (st_v1, _) = policies::create_version(conn, system, ago(305), org_id, &st_fields, Bump::Major, &st_draft).await?;
        let v = policies::version(&mut *conn, org_id, st_v1).await?;
        policies::sign(conn, system, ago(300), org_id, &v, &signer("daniel.okafor@acme.example", "Daniel Okafor", true)).await?;

        // The training plan waits for a signature.
        let plan = policies::create(conn, system, ago(40), org_id, &policy("Training plan 2026", PolicyKind::TrainingPlan, false)).await?;
        let plan_fields = policies::get(&mut *conn, org_id, plan).await?;
        let plan_draft = Draft {
            change_summary: "Plan for the year.".into(),
            body_markdown: Some("# Training plan 2026\n\n- Awareness e-learning for everyone, yearly\n- Secure development for engineers\n".into()),
            ..Draft::default()
        };
        policies::create_version(conn, system, ago(35), org_id, &plan_fields, Bump::Major, &plan_draft).await?;

        // Acknowledgements: most staff, but not the CFO, and one starter late.
        let is_readers = [
            "daniel.okafor@acme.example", "morgan.reyes@acme.example", "priya.shah@acme.example", "grace.liu@acme.example",
            "tomasz.nowak@acme.example", "aisha.bello@acme.example", "sofia.marchetti@acme.example", "kwame.mensah@acme.example",
            "elena.petrova@acme.example", "oliver.hughes@acme.example", "hannah.schmidt@acme.example", "fatima.zahra@acme.example",
            "chloe.martin@acme.example", "rafael.duarte@acme.example",
        ];
        for (i, email) in is_readers.iter().enumerate() {
            acks::acknowledge(conn, system, ago(400 - i as i64 * 5), org_id, person(email), is_v2, Method::Imported, "", "").await?;
        }
        let aup_readers = [
            ("daniel.okafor@acme.example", 148), ("priya.shah@acme.example", 148), ("grace.liu@acme.example", 147), ("tomasz.nowak@acme.example", 146),
            ("aisha.bello@acme.example", 146), ("lars.eriksen@acme.example", 145), ("kwame.mensah@acme.example", 140), ("nina.kowalski@acme.example", 139),
            ("diego.alvarez@acme.example", 130), ("george.ellis@acme.example", 120),
        ];
        for (email, days) in aup_readers {
            acks::acknowledge(conn, system, ago(days), org_id, person(email), aup_v1, Method::Link, "198.51.100.4", "demo").await?;
        }
        campaigns::create_campaign(conn, system, ago(150), org_id, aup_v1, "Acceptable use policy v1.0", Some(today - Duration::days(120))).await?;
        // A recent starter read the acceptable use policy only after starting.
        let mei = person("mei.tanaka@acme.example");
        let before = crate::people::model::get_in(&mut *conn, org_id, mei).await?;
        let starter = crate::people::model::PersonFields { start_date: Some(today - Duration::days(90)), ..before.fields() };
        crate::people::model::update(conn, system, ago(91), org_id, mei, &starter).await?;
        acks::acknowledge(conn, system, ago(75), org_id, mei, aup_v1, Method::Link, "198.51.100.9", "demo").await?;

        // Training: the CEO never took it; the CFO's has lapsed.
        let awareness = training::create_module(
            conn,
            system,
            ago(420),
            org_id,
            &ModuleFields { title: "Security awareness".into(), kind: ModuleKind::Awareness, description: "Yearly e-learning: phishing, passwords, reporting incidents.".into(), validity_months: 12, audience: Audience::AllStaff },
        )
        .await?;
        let secure_dev = training::create_module(
            conn,
            system,
            ago(300),
            org_id,
            &ModuleFields {
                title: "Secure development".into(),
                kind: ModuleKind::RoleBased,
                description: "For engineers: the OWASP top ten and our code review rules.".into(),
                validity_months: 24,
                audience: Audience::Departments(vec!["Engineering".into()]),
            },
        )
        .await?;
        let completions: [(&str, crate::ids::ModuleId, i64); 15] = [
            ("helen.brandt@acme.example", awareness, 400),
            ("morgan.reyes@acme.example", awareness, 200),
            ("priya.shah@acme.example", awareness, 190),
            ("grace.liu@acme.example", awareness, 180),
            ("tomasz.nowak@acme.example", awareness, 350),
            ("aisha.bello@acme.example", awareness, 100),
            ("lars.eriksen@acme.example", awareness, 90),
            ("kwame.mensah@acme.example", awareness, 80),
            ("elena.petrova@acme.example", awareness, 345),
            ("nina.kowalski@acme.example", awareness, 60),
            ("fatima.zahra@acme.example", awareness, 50),
            ("hannah.schmidt@acme.example", awareness, 40),
            ("kwame.mensah@acme.example", secure_dev, 200),
            ("elena.petrova@acme.example", secure_dev, 500),
            ("chloe.martin@acme.example", secure_dev, 30),
        ];
        let items: Vec<Completion> = completions
            .iter()
            .map(|(email, module, days)| Completion { module_id: *module, person_id: person(email), completed_on: today - Duration::days(*days), score: Some(80.0 + (*days % 20) as f64), how: None })
            .collect();
        training::record(conn, system, now, org_id, training::RecordSource::Import, &items).await?;

        // A campaign for the yearly awareness training, started ten days
        // ago: everyone not current got a personal link, and one whose
        // training was about to lapse has since confirmed through it.
        use crate::training::campaigns::model as training_campaigns;
        let module = training::module(&mut *conn, org_id, awareness).await?;
        let campaign_id = training_campaigns::create(conn, system, ago(10), org_id, &module, Some(today + Duration::days(20))).await?;
        let campaign = training_campaigns::campaign(&mut *conn, org_id, campaign_id).await?;
        let standings = training_campaigns::standings(conn, org_id, &module, &campaign, today).await?;
        let asked: Vec<&training_campaigns::Standing> = standings.iter().filter(|s| !s.done).collect();
        let links = training_campaigns::issue_links(conn, system, ago(10), org_id, campaign_id, &asked).await?;
        let tomasz = person("tomasz.nowak@acme.example");
        let link = links.iter().find(|l| l.person_id == tomasz).ok_or_else(|| anyhow::anyhow!("Tomasz is asked"))?;
        let target = training_campaigns::by_token(&mut *conn, &link.token).await?;
        let actor = Actor { org_id: Some(org_id), user_id: None, label: "Tomasz Nowak (personal link)".into(), request_id: "demo".into() };
        let confirmation = training_campaigns::Confirmation { completed_on: today - Duration::days(6), client_addr: "198.51.100.23".into(), user_agent: "demo".into() };
        training_campaigns::confirm(conn, &actor, ago(6), &target, &confirmation).await?;
        Ok(())
    }

    struct Sample {
        title: &'static str,
        kind: evidence::Kind,
        date: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
        months: Option<i32>,
        owner: &'static str,
        file: Option<(&'static str, Vec<u8>)>,
        url: Option<&'static str>,
        links: Vec<Target>,
    }

    /// A small, valid one-page PDF with a title and a few lines of text.
    pub fn pdf(title: &str, lines: &[&str]) -> Vec<u8> {
        let escape = |t: &str| t.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
        let mut text = format!("BT /F1 18 Tf 72 760 Td ({}) Tj ET\n", escape(title));
        for (i, l) in lines.iter().enumerate() {
            text.push_str(&format!("BT /F1 11 Tf 72 {} Td ({}) Tj ET\n", 720 - 18 * i as i32, escape(l)));
        }
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
            format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
        out
    }
}
