//! A data generator for benchmarks and size tests: a large organisation
//! (by default 5,000 people, 50 policies with 3 versions each, 250,000
//! acknowledgements, 100,000 training records, 20,000 evidence items and
//! 40 management reviews) plus small ones, written with set-based SQL so it
//! takes seconds. Records carry plausible dates (people are created when
//! they start, reviews when they are held), so as-of views have a history.
use crate::ids::{OrgId, PersonId, RoleId};
use crate::audit::{self, Actor};
use crate::auth::password;
use crate::auth::policy::Role;
use crate::orgs::model as orgs;
use crate::roles::starter;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// How much to generate for one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    pub people: i32,
    pub policies: i32,
    pub versions: i32,
    pub acknowledgements: i32,
    pub training_records: i32,
    pub evidence_items: i32,
    pub reviews: i32,
}

impl Sizes {
    /// The benchmark's large organisation.
    pub fn large() -> Sizes {
        Sizes { people: 5_000, policies: 50, versions: 3, acknowledgements: 250_000, training_records: 100_000, evidence_items: 20_000, reviews: 40 }
    }

    /// The same proportions for `people` people.
    pub fn scaled(people: usize) -> Sizes {
        let n = i32::try_from(people).unwrap_or(1_000_000).clamp(10, 1_000_000);
        Sizes {
            people: n,
            policies: (n / 100).clamp(5, 50),
            versions: 3,
            acknowledgements: n * 50,
            training_records: n * 20,
            evidence_items: n * 4,
            reviews: (n / 125).clamp(4, 40),
        }
    }
}

/// A login the generator made.
pub struct Login {
    pub org: String,
    pub role: Role,
    pub email: String,
    pub password: String,
}

/// Creates "Generated Ltd" at the given sizes plus `small` small
/// organisations, and returns their logins.
pub async fn run(db: &PgPool, now: DateTime<Utc>, sizes: &Sizes, small: usize) -> anyhow::Result<Vec<Login>> {
    let mut logins = Vec::new();
    let mut orgs_to_fill = vec![("Generated Ltd".to_string(), sizes.clone())];
    for i in 1..=small {
        orgs_to_fill.push((format!("Small Co {i}"), Sizes::scaled(25)));
    }
    for (n, (name, size)) in orgs_to_fill.into_iter().enumerate() {
        let stamp = Uuid::new_v4().simple().to_string();
        let mut tx = db.begin().await?;
        let org_id = OrgId::new();
        let system = Actor::system(Some(org_id), "generator");
        let roles: &[Role] = if n == 0 { &[Role::Owner, Role::IsmsLead, Role::Executive, Role::Auditor] } else { &[Role::Owner] };
        for role in roles {
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
            let email = format!("{}-{}@generated.example", role.as_str().replace('_', "-"), &stamp[..8]);
            let hash = password::hash(secret.clone()).await?;
            let user = orgs::create_user(&mut tx, &system, now, &email, role.label(), &hash).await?.ok_or_else(|| anyhow::anyhow!("user {email} exists"))?;
            if *role == Role::Owner {
                orgs::create_organisation(&mut tx, &system, now, org_id, &name, user).await?;
            } else {
                orgs::add_membership(&mut tx, &system, now, org_id, user, *role).await?;
            }
            logins.push(Login { org: name.clone(), role: *role, email, password: secret });
        }
        fill(&mut tx, org_id, now, &size).await?;
        tx.commit().await?;
    }
    // Fresh statistics: without them PostgreSQL plans the dashboards' joins
    // as if the new tables were empty (nested loops over 250,000 rows),
    // until autovacuum gets round to analysing them. The vacuum marks the
    // new pages all-visible, as autovacuum would soon: until then, every
    // index-only scan of a million training records reads the table too.
    sqlx::query!("VACUUM (ANALYZE)").execute(db).await?;
    Ok(logins)
}

/// Fills an existing organisation with generated records, all or nothing
/// (in a transaction of its own, or a savepoint of the caller's).
pub async fn fill(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>, s: &Sizes) -> anyhow::Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    fill_in(&mut tx, org_id, now, s).await?;
    tx.commit().await?;
    Ok(())
}

async fn fill_in(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>, s: &Sizes) -> anyhow::Result<()> {
    let today = now.date_naive();
    // Generated records are as if they had always been so: no history of values.
    crate::history::off(&mut *conn).await?;
    // Every statement takes $1 the organisation, $2 now and $3 today, then its own arguments.
    macro_rules! exec {
        ($sql:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query!($sql, org_id.0, now, today $(, $arg)*).execute(&mut *conn).await?
        };
    }
    // People: five directors, a line manager in every 25, contractors, leavers, a few contracts without the clause.
    exec!(
        "INSERT INTO people (id, org_id, name, email, job_title, department, kind, start_date, end_date, top_management, line_manager,
                             security_clause, created_at, updated_at)
         SELECT gen_random_uuid(), $1, 'Person ' || i, 'person' || i || '@generated.example',
                CASE WHEN i <= 5 THEN 'Director' WHEN i % 25 = 0 THEN 'Team lead' ELSE 'Specialist' END,
                (ARRAY['Engineering','Sales','Operations','Finance','People','IT','Support','Legal','Marketing','Product'])[1 + i % 10],
                CASE WHEN i % 10 = 0 THEN 'contractor' ELSE 'employee' END,
                st, CASE WHEN i % 20 = 0 THEN $3::date - 1 END,
                i <= 5, i <= 5 OR i % 25 = 0, i % 20 <> 7, LEAST($2, st::timestamptz), $2
           FROM generate_series(1, $4) AS i CROSS JOIN LATERAL (SELECT ($3::date - 1 - (i % 3650))::date) x(st)",
        s.people
    );
    crate::people::roster::model::record_seeded(&mut *conn, org_id).await?;
    let top = sqlx::query_scalar!(r#"SELECT id AS "id: PersonId" FROM people WHERE org_id = $1 AND email = 'person1@generated.example'"#, org_id.0)
        .fetch_one(&mut *conn)
        .await?;

    // Requirement owners and progress; every seventh has no owner.
    exec!(
        "INSERT INTO requirement_states (org_id, requirement_id, applicable, owner_id, status, updated_at)
         SELECT $1, r.id, true, CASE WHEN r.position % 7 = 0 THEN NULL ELSE $4::uuid END,
                (ARRAY['implemented','in_progress','implemented','not_started'])[1 + r.position % 4], $2
           FROM requirements r WHERE r.retired_at IS NULL AND $3::date IS NOT NULL",
        top.0
    );

    // The starting roles, held by people 6 to 12, appointed by a director; two not accepted yet.
    for (k, r) in starter::ROLES.iter().enumerate() {
        let role = RoleId::new();
        sqlx::query!(
            "INSERT INTO isms_roles (id, org_id, name, responsibilities, authorities, carries_conformance, carries_reporting, position, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            role.0,
            org_id.0,
            r.name,
            r.responsibilities,
            r.authorities,
            r.conformance,
            r.reporting,
            i32::try_from(k).unwrap_or(0),
            now - chrono::Duration::days(800)
        )
        .execute(&mut *conn)
        .await?;
        exec!(
            "INSERT INTO role_appointments (id, org_id, role_id, person_id, capacity, appointed_by, appointed_on, confirmed_at, accepted_at, accepted_via, created_at)
             SELECT gen_random_uuid(), $1, $4, p.id, 'holder', $5, $3::date - 700, $2::timestamptz - interval '700 days',
                    CASE WHEN $6 < 5 THEN $2::timestamptz - interval '690 days' END, CASE WHEN $6 < 5 THEN 'link' END, $2::timestamptz - interval '700 days'
               FROM people p WHERE p.org_id = $1 AND p.email = 'person' || (6 + $6) || '@generated.example'",
            role.0,
            top.0,
            i32::try_from(k).unwrap_or(0)
        );
    }

    // Policies, each with `versions` yearly major versions signed by a director.
    exec!(
        "INSERT INTO policies (id, org_id, title, kind, review_months, audience, audience_departments, created_at, updated_at)
         SELECT gen_random_uuid(), $1,
                CASE i WHEN 1 THEN 'Information security policy' WHEN 2 THEN 'Senior management statement' WHEN 3 THEN 'Acceptable use policy'
                       WHEN 4 THEN 'Disciplinary process' WHEN 5 THEN 'Training plan' ELSE 'Topic-specific policy ' || i END,
                (ARRAY['is_policy','management_statement','acceptable_use','disciplinary_process','training_plan','topic_specific'])[LEAST(i, 6)],
                12, CASE WHEN i % 9 = 0 THEN 'managers' WHEN i % 7 = 0 THEN 'departments' ELSE 'all_staff' END,
                CASE WHEN i % 7 = 0 THEN ARRAY['Engineering', 'IT'] ELSE '{}' END, $2::timestamptz - interval '4 years', $2
           FROM generate_series(1, $4) AS i WHERE $3::date IS NOT NULL",
        s.policies
    );
    exec!(
        "INSERT INTO policy_versions (id, org_id, policy_id, major, minor, change_summary, body_markdown, check_purpose, check_objectives,
                                      check_requirements, check_improvement, created_at, approver_person_id, approver_name,
                                      approver_top_management, approved_at, approved_from, approved_agent, approved_sha256)
         SELECT gen_random_uuid(), $1, p.id, v, 0, 'Yearly review', body, 'Section 1', 'Section 2', 'Section 3', 'Section 4',
                t - interval '2 days', $5, 'Person 1', true, t, '192.0.2.1', 'generator', sha256(convert_to(body, 'UTF8'))
           FROM policies p CROSS JOIN generate_series(1, $4) AS v
           CROSS JOIN LATERAL (SELECT '# ' || p.title || E'\\n\\nVersion ' || v || '.' AS body,
                                      $2::timestamptz - make_interval(days => (($4 - v) * 365 + 20 + abs(hashtext(p.id::text)) % 200)::int) AS t) x
          WHERE p.org_id = $1 AND $3::date IS NOT NULL",
        s.versions,
        top.0
    );

    // Acknowledgements: most people for current versions, some for older ones.
    let aside = SetAside::take(&mut *conn, "acknowledgements", s.acknowledgements).await?;
    exec!(
        "INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method)
         SELECT gen_random_uuid(), $1, p.id, v.id, x.at, 'link'
           FROM policy_versions v
           JOIN (SELECT policy_id, max(major) AS major FROM policy_versions WHERE org_id = $1 GROUP BY policy_id) cur ON cur.policy_id = v.policy_id
           JOIN people p ON p.org_id = v.org_id
           CROSS JOIN LATERAL (SELECT abs(hashtext(p.id::text || v.id::text)) AS h) hh
           CROSS JOIN LATERAL (SELECT v.approved_at + make_interval(days => (hh.h % 30)::int) AS at) x
          WHERE v.org_id = $1 AND x.at < $2 AND $3::date IS NOT NULL
            AND hh.h % 100 < CASE WHEN v.major = cur.major THEN 85 ELSE 30 END
          LIMIT $4",
        i64::from(s.acknowledgements)
    );
    aside.restore(&mut *conn).await?;

    // Training: yearly awareness for all, a quarterly phishing debrief, secure development for engineers, incident handling for managers.
    exec!(
        "INSERT INTO training_modules (id, org_id, title, kind, validity_months, audience, audience_departments, created_at, updated_at)
         SELECT gen_random_uuid(), $1, t.title, t.kind, t.months, t.audience, t.departments, $2::timestamptz - interval '6 years', $2
           FROM (VALUES ('Security awareness', 'awareness', 12, 'all_staff', '{}'::text[]),
                        ('Phishing debrief', 'awareness', 3, 'all_staff', '{}'::text[]),
                        ('Secure development', 'role_based', 24, 'departments', ARRAY['Engineering']),
                        ('Handling incidents as a manager', 'role_based', 24, 'managers', '{}'::text[])) AS t(title, kind, months, audience, departments)
          WHERE $3::date IS NOT NULL"
    );
    // The join condition is crate::people::audience::sql_match("t", "p"),
    // written out. A person's completions of a module are at least 90 days
    // apart, so the rows are unique by construction.
    let aside = SetAside::take(&mut *conn, "training_records", s.training_records).await?;
    exec!(
        "INSERT INTO training_records (id, org_id, module_id, person_id, completed_on, source, recorded_at)
         SELECT gen_random_uuid(), $1, module_id, person_id, d, 'import', LEAST($2, d::timestamptz + interval '1 day') FROM (
            SELECT t.id AS module_id, p.id AS person_id, x.d, y
              FROM training_modules t JOIN people p ON p.org_id = t.org_id AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
              CROSS JOIN generate_series(0, 40) AS y
              CROSS JOIN LATERAL (SELECT ($3::date - (y * t.validity_months * 30 + abs(hashtext(p.id::text || t.id::text)) % 120))::date AS d) x
             WHERE t.org_id = $1 AND (p.start_date IS NULL OR x.d >= p.start_date) AND (p.end_date IS NULL OR x.d < p.end_date)
             ORDER BY y LIMIT $4) picked",
        i64::from(s.training_records)
    );
    aside.restore(&mut *conn).await?;

    // Evidence: records kept elsewhere (links, no files), each supporting one requirement, reviewed yearly.
    exec!(
        "INSERT INTO evidence_items (id, org_id, title, kind, external_url, evidence_date, review_interval_months, created_at, updated_at)
         SELECT gen_random_uuid(), $1, 'Record ' || i, 'external_link', 'https://records.generated.example/' || i, d, 12,
                LEAST($2, d::timestamptz), $2
           FROM generate_series(1, $4) AS i CROSS JOIN LATERAL (SELECT ($3::date - (i % 900))::date AS d) x",
        s.evidence_items
    );
    exec!(
        "INSERT INTO evidence_links (org_id, item_id, target_kind, target_id, linked_at)
         SELECT $1, i.id, 'requirement', r.id, i.created_at
           FROM (SELECT id, created_at, row_number() OVER (ORDER BY created_at, id) AS n FROM evidence_items WHERE org_id = $1) i
           JOIN (SELECT id, row_number() OVER (ORDER BY position) - 1 AS k, count(*) OVER () AS c FROM requirements WHERE retired_at IS NULL) r
             ON r.k = i.n % r.c
          WHERE $2::timestamptz IS NOT NULL AND $3::date IS NOT NULL"
    );

    // Management reviews every quarter, signed off by the chair; the latest without minutes; three actions each.
    exec!(
        "INSERT INTO meetings (id, org_id, kind, title, planned_on, held_on, chair_id, attendee_ids, inputs, minutes, decisions, created_at, updated_at,
                               signed_off_name, signed_off_at)
         SELECT gen_random_uuid(), $1, 'management_review', 'Management review ' || to_char(h, 'YYYY-MM'), h, h, $5,
                ARRAY(SELECT id FROM people WHERE org_id = $1 AND top_management ORDER BY email),
                ARRAY['earlier_actions','performance','risk','improvement'],
                CASE WHEN k = 0 THEN '' ELSE 'Reviewed the audit results, the risk register and the objectives.' END,
                'Keep the budget; run the phishing exercise again.', h::timestamptz, h::timestamptz,
                CASE WHEN k > 0 THEN 'Person 1' END, CASE WHEN k > 0 THEN h::timestamptz + interval '3 days' END
           FROM generate_series(0, $4 - 1) AS k CROSS JOIN LATERAL (SELECT ($3::date - 30 - k * 91)::date AS h) x
          WHERE $2::timestamptz IS NOT NULL",
        s.reviews,
        top.0
    );
    exec!(
        "INSERT INTO action_items (id, org_id, meeting_id, title, owner_id, due_on, status, closing_note, closed_at, created_at, updated_at)
         SELECT gen_random_uuid(), $1, m.id, 'Follow-up ' || n || ' of ' || m.title, $4, m.held_on + 60,
                CASE WHEN m.held_on + 60 < $3::date - 90 THEN 'done' ELSE 'open' END,
                CASE WHEN m.held_on + 60 < $3::date - 90 THEN 'Done.' ELSE '' END,
                CASE WHEN m.held_on + 60 < $3::date - 90 THEN (m.held_on + 50)::timestamptz END, m.created_at, $2
           FROM meetings m CROSS JOIN generate_series(1, 3) AS n WHERE m.org_id = $1",
        top.0
    );

    // A resource decision a year, a communication a quarter, objectives and asks.
    exec!(
        "INSERT INTO resource_decisions (id, org_id, what, title, amount, currency, reason, asked_by, asked_on, decided_by, decision, decided_on, created_at, updated_at, recorded_at)
         SELECT gen_random_uuid(), $1, 'budget', 'Security budget ' || to_char(d, 'YYYY'), 50000 + y * 5000, 'EUR', 'Yearly plan', $4, d - 30, $4,
                'approved', d, d::timestamptz, $2, d::timestamptz
           FROM generate_series(0, 4) AS y CROSS JOIN LATERAL (SELECT ($3::date - 200 - y * 365)::date AS d) x",
        top.0
    );
    exec!(
        "INSERT INTO communications (id, org_id, sent_on, from_id, channel, audience, reach, subject, created_at, updated_at)
         SELECT gen_random_uuid(), $1, d, $4, 'all_hands', 'All staff', (SELECT count(*) FROM people WHERE org_id = $1), 'Security update ' || to_char(d, 'YYYY-MM'),
                d::timestamptz, $2
           FROM generate_series(0, 11) AS q CROSS JOIN LATERAL (SELECT ($3::date - 45 - q * 91)::date AS d) x",
        top.0
    );
    exec!(
        "INSERT INTO objectives (id, org_id, title, measure, target, owner_id, due_on, status, strategy_link, created_at, updated_at)
         SELECT gen_random_uuid(), $1, 'Objective ' || i, 'Measure ' || i, 'Target ' || i, $4, $3::date + i * 60,
                (ARRAY['on_track','at_risk','planned','achieved','on_track'])[i], 'Supports the growth plan.', $2::timestamptz - interval '200 days', $2
           FROM generate_series(1, 5) AS i",
        top.0
    );
    exec!(
        "INSERT INTO leadership_asks (id, org_id, asked_of, what, asked_on, due_on, response, responded_on, created_at, updated_at)
         SELECT gen_random_uuid(), $1, $4, 'Request ' || i, $3::date - i * 20, $3::date - i * 20 + 14,
                CASE WHEN i % 3 = 0 THEN '' ELSE 'Agreed.' END, CASE WHEN i % 3 = 0 THEN NULL ELSE $3::date - i * 20 + 7 END,
                ($3::date - i * 20)::timestamptz, $2
           FROM generate_series(1, 10) AS i",
        top.0
    );

    let system = Actor::system(Some(org_id), "generator");
    audit::record(
        conn,
        &system,
        now,
        "organisation.generated",
        "organisation",
        org_id,
        json!({"people": s.people, "policies": s.policies, "versions": s.versions, "acknowledgements": s.acknowledgements,
               "training_records": s.training_records, "evidence_items": s.evidence_items, "reviews": s.reviews}),
    )
    .await?;
    Ok(())
}

/// A table's keys, foreign keys and indexes, set aside while a bulk insert
/// fills it and built again after: building an index over millions of rows
/// in one sort, and checking a foreign key with one join, is several times
/// faster than keeping them row by row (87 s against 16 s for 2.5 million
/// acknowledgements). Keys that other tables refer to stay; small inserts
/// keep everything in place. Everything runs
/// in the caller's transaction, so a failure leaves the table as it was;
/// meanwhile the table is locked against other sessions.
struct SetAside {
    restore: Vec<String>,
}

impl SetAside {
    /// Sets `table`'s keys and indexes aside for an insert of `rows` rows,
    /// if that many are worth it (rebuilding costs a pass over the whole
    /// table, whoever's rows it holds).
    async fn take(conn: &mut PgConnection, table: &'static str, rows: i32) -> anyhow::Result<SetAside> {
        if rows < 100_000 {
            return Ok(SetAside { restore: Vec::new() });
        }
        // Primary and unique keys come back before the foreign keys, and
        // constraints before plain indexes.
        let rows = sqlx::query!(
            r#"SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', $1::text, c.conname) AS "drop!",
                      format('ALTER TABLE %I ADD CONSTRAINT %I %s', $1::text, c.conname, pg_get_constraintdef(c.oid)) AS "restore!",
                      CASE c.contype WHEN 'f' THEN 1 ELSE 0 END AS "step!"
                 FROM pg_constraint c
                WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'f')
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.confrelid = c.conrelid AND r.conindid = c.conindid)
               UNION ALL
               SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 2
                 FROM pg_index i
                WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY 3, 1"#,
            table
        )
        .fetch_all(&mut *conn)
        .await?;
        sqlx::query!("SET LOCAL maintenance_work_mem = '256MB'").execute(&mut *conn).await?;
        // Foreign keys go first: a key they rest on could not be dropped under them.
        for r in rows.iter().rev() {
            ddl(&mut *conn, &r.drop).await?;
        }
        Ok(SetAside { restore: rows.into_iter().map(|r| r.restore).collect() })
    }

    async fn restore(self, conn: &mut PgConnection) -> anyhow::Result<()> {
        for statement in &self.restore {
            ddl(&mut *conn, statement).await?;
        }
        Ok(())
    }
}

async fn ddl(conn: &mut PgConnection, statement: &str) -> anyhow::Result<()> {
    // dynamic: a table's own constraint and index definitions, as PostgreSQL's catalogue writes them
    sqlx::QueryBuilder::<sqlx::Postgres>::new(statement).build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}
