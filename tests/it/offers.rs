//! No page offers its reader something they cannot do: every role of the
//! demo organisation walks every page it can reach from its menus; each link
//! it is shown must open (no 403, no 404), and each form it is shown must
//! post to a route its role may use (as `auth::policy` decides) and, for an
//! act bound to an account (signing, signing off, confirming, answering,
//! accepting a risk), be theirs to do.
use crate::support::{Client, TestApp};
use mandate::auth::policy::{self, Access, Role};
use scraper::{Html, Selector};
use sqlx::PgPool;
use std::collections::{BTreeSet, VecDeque};

/// The route a posted path lands on: the pattern matching it with the most literal segments.
fn route_of(path: &str) -> Option<(&'static str, Access)> {
    let segs: Vec<&str> = path.split('?').next().unwrap_or(path).split('/').collect();
    mandate::app::route_list()
        .into_iter()
        .filter(|(m, _, _)| m == "POST")
        .filter_map(|(_, pattern, access)| {
            let pat: Vec<&str> = pattern.split('/').collect();
            let fits = pat.len() == segs.len() && pat.iter().zip(&segs).all(|(p, s)| p.starts_with('{') || p == s);
            fits.then(|| (pat.iter().filter(|p| !p.starts_with('{')).count(), pattern, access))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, pattern, access)| (pattern, access))
}

/// Acts bound to an account: the accounts that may do them, by the record's id.
const BOUND: &[(&str, &str)] = &[
    ("/meetings/{id}/sign-off", "SELECT p.acting_user_id FROM meetings m JOIN people p ON p.org_id = m.org_id AND p.id = m.chair_id WHERE m.id = $1"),
    ("/appointments/{id}/confirm", "SELECT p.acting_user_id FROM role_appointments a JOIN people p ON p.org_id = a.org_id AND p.id = a.appointed_by WHERE a.id = $1"),
    ("/asks/{id}/respond", "SELECT p.acting_user_id FROM leadership_asks k JOIN people p ON p.org_id = k.org_id AND p.id = k.asked_of WHERE k.id = $1"),
    ("/appointments/{id}/accept", "SELECT p.acting_user_id FROM role_appointments a JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id WHERE a.id = $1"),
    // Acknowledging in the app: whoever has a directory entry of their own.
    ("/policies/versions/{id}/acknowledge", "SELECT p.acting_user_id FROM policy_versions v JOIN people p ON p.org_id = v.org_id WHERE v.id = $1"),
    // A corrective action: its owner (those who manage findings edit any, below).
    ("/findings/{id}", "SELECT owner_id FROM findings WHERE id = $1"),
    // Any member of top management accepts or ends a risk. (Whoever may
    // sign policies may sign a version, in their own name: the page says
    // when that does not count as top management's approval.)
    ("/findings/{id}/accept", "SELECT p.acting_user_id FROM findings f JOIN people p ON p.org_id = f.org_id AND p.top_management AND p.end_date IS NULL WHERE f.id = $1"),
    ("/findings/{id}/end-acceptance", "SELECT p.acting_user_id FROM findings f JOIN people p ON p.org_id = f.org_id AND p.top_management AND p.end_date IS NULL WHERE f.id = $1"),
];

/// Whether `user` may do the act bound to an account that `action` posts to (true for other acts).
/// Auditors act for nobody; those who manage findings edit any of them.
async fn bound_to(db: &PgPool, pattern: &str, action: &str, user: uuid::Uuid, role: Role) -> bool {
    let Some((_, sql)) = BOUND.iter().find(|(p, _)| *p == pattern) else { return true };
    if role == Role::Auditor {
        return false;
    }
    if pattern == "/findings/{id}" && policy::allows(role, policy::Action::ManageFindings) {
        return true;
    }
    let id = action.split('/').find_map(|s| uuid::Uuid::parse_str(s).ok()).expect("the act names its record");
    let who: Vec<Option<uuid::Uuid>> = sqlx::query_scalar(sql).bind(id).fetch_all(db).await.unwrap();
    who.contains(&Some(user))
}

/// Walks from the menus; returns (pages walked, forms for acts bound to an account seen, problems).
async fn walk(c: &mut Client, db: &PgPool, user: uuid::Uuid, role: Role) -> (usize, usize, Vec<String>) {
    let links = Selector::parse("a[href]").unwrap();
    let forms = Selector::parse("form[method=post], form[method=POST]").unwrap();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Each path with the page that links to it (none for the menus' pages, which a role may not have).
    let mut queue: VecDeque<(String, Option<String>)> = crate::xss::STARTS.iter().map(|s| (s.to_string(), None)).collect();
    let (mut pages, mut bound, mut problems) = (0, 0, Vec::new());
    while let Some((path, from)) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        assert!(seen.len() <= 2000, "{role:?}: more than 2,000 pages: the walk would stop short");
        let res = c.get(&path).await;
        // A page opens (200) or sends on (a redirect); nothing else is offered.
        if !(res.status.is_success() || res.status.is_redirection()) {
            if let Some(from) = from {
                problems.push(format!("{role:?} on {from}: a link to {path} answers {}", res.status));
            }
            continue;
        }
        if !res.header("content-type").starts_with("text/html") || res.status != 200 {
            continue;
        }
        pages += 1;
        let doc = Html::parse_document(&res.body);
        for f in doc.select(&forms) {
            let action = f.value().attr("action").unwrap_or(&path);
            let route = route_of(action);
            bound += usize::from(route.is_some_and(|(p, _)| BOUND.iter().any(|(b, _)| *b == p)));
            match route {
                None => problems.push(format!("{role:?} on {path}: a form posts to {action}, which no route serves")),
                Some((pattern, Access::Can(a))) if !policy::allows(role, a) => {
                    problems.push(format!("{role:?} on {path}: a form posts to {pattern}, which needs {a:?}"))
                }
                Some((pattern, _)) if !bound_to(db, pattern, action, user, role).await => {
                    problems.push(format!("{role:?} on {path}: a form posts to {pattern} for someone else"))
                }
                Some(_) => {}
            }
        }
        for a in doc.select(&links) {
            let href = a.value().attr("href").unwrap_or("");
            // Same-site pages; downloads are checked for their status too, but not walked.
            if !href.starts_with('/') || href.starts_with("//") || href.starts_with("/static/") || href == "/logout" {
                continue;
            }
            queue.push_back((href.split('#').next().unwrap().to_string(), Some(path.clone())));
        }
    }
    (pages, bound, problems)
}

#[sqlx::test]
async fn no_page_offers_a_link_or_a_form_its_reader_cannot_use(db: PgPool) {
    let app = TestApp::new(db).await;
    let logins = mandate::demo::load_if_empty(app.db(), &app.state.store, app.state.clock.as_ref(), chrono::Duration::days(7)).await.unwrap().unwrap();
    let org: mandate::ids::OrgId = sqlx::query_scalar("SELECT id FROM organisations LIMIT 1").fetch_one(app.db()).await.unwrap();
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    let (mut problems, mut bound) = (Vec::new(), 0);
    for login in &logins {
        let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(login.email).fetch_one(app.db()).await.unwrap();
        let mut c = app.signed_in(user, Some(org)).await;
        let (pages, seen, found) = walk(&mut c, app.db(), user, login.role).await;
        bound += seen;
        assert!(pages > 40, "{:?}: only {pages} pages walked", login.role);
        problems.extend(found);
    }
    assert!(bound > 0, "the demo's leader is offered acts of their own");
    assert!(problems.is_empty(), "{} offers their reader cannot use:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn a_posted_path_finds_its_route() {
    let id = uuid::Uuid::nil();
    assert_eq!(route_of(&format!("/training/modules/{id}/campaigns")).map(|r| r.0), Some("/training/modules/{id}/campaigns"));
    assert_eq!(route_of("/training/modules").map(|r| r.0), Some("/training/modules"));
    assert!(route_of("/nowhere/at/all").is_none());
}
