//! Every route x every kind of principal x own / other tenant, with the
//! expected answer in one table. A route the router serves but the table
//! lacks (or the other way round) fails the test.
use crate::support::{Client, TestApp};
use mandate::auth::policy::Role;
use sqlx::PgPool;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// Columns of the table, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum P {
    Anon,
    Owner,
    IsmsLead,
    Executive,
    Contributor,
    Auditor,
    /// The owner of organisation B: "own" ids are B's, "other" ids are A's.
    OtherOwner,
    /// A user whose membership of A is disabled.
    Disabled,
}
const PRINCIPALS: [P; 8] = [P::Anon, P::Owner, P::IsmsLead, P::Executive, P::Contributor, P::Auditor, P::OtherOwner, P::Disabled];

/// What a row expects: a status code, or `login` (303 to the sign-in page),
/// `orgs` (303 to the organisation chooser).
type Row = (&'static str, &'static str, [&'static str; 8], Option<[&'static str; 8]>);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //  method  path                              anon     owner  isms   exec   contrib audit  B-owner disabled        other tenant's ids
    ("GET",  "/healthz",                     ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/readyz",                      ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/static/{file}",               ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/",                            ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("GET",  "/dashboard",                   ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/signup",                      ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/signup",                      ["422",  "422", "422", "422", "422", "422", "422", "422"], None),
    ("GET",  "/login",                       ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/login",                       ["401",  "401", "401", "401", "401", "401", "401", "401"], None),
    ("POST", "/logout",                      ["login","login","login","login","login","login","login","login"], None),
    ("GET",  "/account",                     ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/account/password",            ["login","422", "422", "422", "422", "422", "422", "422"], None),
    ("GET",  "/orgs",                        ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/orgs",                        ["login","303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/orgs/switch",                 ["login","303", "303", "303", "303", "303", "303", "404"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "404"])),
    ("GET",  "/members",                     ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/members.csv",                 ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/members/invite",              ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/members/{id}/role",           ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/members/{id}/disable",        ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/members/{id}/enable",         ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/invitations/{id}/revoke",     ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/invite/{token}",              ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/invite/{token}",              ["422",  "410", "410", "410", "410", "410", "410", "410"],
                                        Some(["422",  "410", "410", "410", "410", "410", "410", "410"])),
    ("GET",  "/audit",                       ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/audit.csv",                   ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
];

/// One organisation's ids, as the path and form placeholders need them.
struct Tenant {
    org: Uuid,
    /// A contributor whose role and status the owner's requests touch.
    target_member: Uuid,
    /// One open invitation per principal, so each revoke has its own.
    invitations: HashMap<P, Uuid>,
    /// An invitation for an address that has no account.
    token: String,
}

struct World {
    app: TestApp,
    users: HashMap<P, (Uuid, Option<Uuid>)>,
    a: Tenant,
    b: Tenant,
}

async fn tenant(app: &TestApp, name: &str, owner: Uuid) -> Tenant {
    let org = app.org(name, owner).await;
    let target_user = app.user(&format!("target@{name}.example"), "Target").await;
    let target_member = app.member(org, target_user, Role::Contributor).await;
    let mut invitations = HashMap::new();
    for (i, p) in PRINCIPALS.iter().enumerate() {
        let (id, _) = app.invitation(org, owner, &format!("revoke{i}@{name}.example"), Role::Auditor).await;
        invitations.insert(*p, id);
    }
    let (_, token) = app.invitation(org, owner, &format!("newcomer@{name}.example"), Role::Contributor).await;
    Tenant { org, target_member, invitations, token }
}

async fn world(db: PgPool) -> World {
    let app = TestApp::new(db);
    let owner = app.user("owner@a.example", "A Owner").await;
    let a = tenant(&app, "a", owner).await;
    let b_owner = app.user("owner@b.example", "B Owner").await;
    let b = tenant(&app, "b", b_owner).await;
    let mut users = HashMap::new();
    users.insert(P::Owner, (owner, Some(a.org)));
    for (p, role) in [(P::IsmsLead, Role::IsmsLead), (P::Executive, Role::Executive), (P::Contributor, Role::Contributor), (P::Auditor, Role::Auditor)] {
        let u = app.user(&format!("{}@a.example", role.as_str()), role.label()).await;
        app.member(a.org, u, role).await;
        users.insert(p, (u, Some(a.org)));
    }
    users.insert(P::OtherOwner, (b_owner, Some(b.org)));
    let disabled = app.user("disabled@a.example", "Disabled").await;
    let m = app.member(a.org, disabled, Role::IsmsLead).await;
    sqlx::query("UPDATE memberships SET disabled_at = now() WHERE id = $1").bind(m).execute(app.db()).await.unwrap();
    users.insert(P::Disabled, (disabled, Some(a.org)));
    World { app, users, a, b }
}

impl World {
    /// A fresh session per request, so sign-outs and switches do not leak into the next case.
    async fn client(&self, p: P) -> Client {
        match self.users.get(&p) {
            Some((user, org)) => self.app.signed_in(*user, *org).await,
            None => self.app.client(),
        }
    }

    fn ids(&self, p: P, other: bool) -> &Tenant {
        let own_is_b = p == P::OtherOwner;
        if own_is_b != other { &self.b } else { &self.a }
    }
}

fn fill(path: &str, t: &Tenant, p: P) -> String {
    path.replace("{file}", "app.css")
        .replace("{token}", &t.token)
        .replace("{id}", &match path {
            p2 if p2.starts_with("/invitations/") => t.invitations[&p].to_string(),
            _ => t.target_member.to_string(),
        })
}

fn form_for(path: &str, t: &Tenant, p: P) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match path {
        "/login" => vec![("email", format!("nobody-{p:?}@example.com")), ("password", "wrong password here".into())],
        "/account/password" => vec![("current", "wrong".into()), ("new_password", "x".into()), ("confirm", "x".into())],
        "/orgs" => vec![("name", format!("New org by {p:?}"))],
        "/orgs/switch" => vec![("org_id", t.org.to_string())],
        "/members/invite" => vec![("email", format!("invitee-{p:?}@example.com").to_lowercase()), ("role", "contributor".into())],
        "/members/{id}/role" => vec![("role", "contributor".into())],
        _ => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn matches(expected: &str, status: u16, location: &str) -> bool {
    match expected {
        "login" => status == 303 && location.starts_with("/login"),
        "orgs" => status == 303 && location == "/orgs",
        code => code.parse::<u16>().ok() == Some(status),
    }
}

#[sqlx::test]
async fn every_route_role_and_tenant_gets_the_expected_answer(db: PgPool) {
    let served: BTreeSet<(String, String)> =
        mandate::app::route_list().into_iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let tabled: BTreeSet<(String, String)> = TABLE.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = served.difference(&tabled).collect();
    let stale: Vec<_> = tabled.difference(&served).collect();
    assert!(missing.is_empty(), "routes without an access-matrix row: {missing:?}");
    assert!(stale.is_empty(), "access-matrix rows for routes that do not exist: {stale:?}");

    let w = world(db).await;
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for (method, path, own, other) in TABLE {
        for (dimension, expected) in [(false, Some(own)), (true, other.as_ref())] {
            let Some(expected) = expected else { continue };
            for (i, p) in PRINCIPALS.iter().enumerate() {
                let t = w.ids(*p, dimension);
                let url = fill(path, t, *p);
                let mut c = w.client(*p).await;
                let res = if *method == "GET" {
                    c.get(&url).await
                } else {
                    let form = form_for(path, t, *p);
                    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    c.post(&url, &fields).await
                };
                checked += 1;
                if !matches(expected[i], res.status.as_u16(), res.location()) {
                    mismatches.push(format!(
                        "{method} {path} as {p:?} ({}): expected {}, got {} {}",
                        if dimension { "other tenant" } else { "own tenant" },
                        expected[i],
                        res.status.as_u16(),
                        res.location()
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches of {checked}:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(checked > 200);
}
