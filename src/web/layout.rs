//! The frame around every page: who is signed in, which organisation,
//! the navigation their role allows, and any one-time message.
use crate::ids::OrgId;
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Visitor};
use crate::error::AppResult;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct OrgChoice {
    pub id: OrgId,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub user_name: Option<String>,
    pub org_name: Option<String>,
    pub org_id: Option<OrgId>,
    pub role_label: Option<&'static str>,
    pub orgs: Vec<OrgChoice>,
    pub nav: Vec<NavLink>,
    pub flash: Option<Flash>,
    pub request_id: String,
    /// The path of the page, for sub-navigation.
    pub path: String,
}

impl Layout {
    /// Whether the page is `base` or below it.
    pub fn under(&self, base: &str) -> bool {
        is_under(&self.path, base)
    }

    /// A layout that needs no database (sign-in pages, error pages).
    pub fn basic(visitor: &Visitor, title: impl Into<String>) -> Self {
        let session = visitor.session.as_ref();
        let current = session.and_then(|s| s.current.as_ref());
        let nav = match current {
            Some(cur) => nav_for(cur.role, &visitor.path),
            None => Vec::new(),
        };
        Layout {
            title: title.into(),
            csrf: visitor.csrf_token().to_string(),
            user_name: session.map(|s| s.name.clone()),
            org_name: current.map(|c| c.org_name.clone()),
            org_id: current.map(|c| c.org_id),
            role_label: current.map(|c| c.role.label()),
            orgs: Vec::new(),
            nav,
            flash: visitor.flash.clone(),
            request_id: visitor.request_id.clone(),
            path: visitor.path.clone(),
        }
    }

    /// The full layout, with the organisation switcher (one query).
    pub async fn build(db: &PgPool, visitor: &Visitor, title: impl Into<String>) -> AppResult<Self> {
        let mut layout = Self::basic(visitor, title);
        if let Some(session) = &visitor.session {
            // Memberships open today (the condition of crate::orgs::window::open_sql).
            layout.orgs = sqlx::query_as!(
                OrgChoice,
                r#"SELECT o.id AS "id: OrgId", o.name FROM memberships m JOIN organisations o ON o.id = m.org_id
                  WHERE m.user_id = $1 AND m.disabled_at IS NULL
                    AND (m.access_from IS NULL OR m.access_from <= $2) AND (m.access_until IS NULL OR m.access_until >= $2)
                  ORDER BY o.name, o.id"#,
                session.user_id.0,
                session.today
            )
            .fetch_all(db)
            .await?;
        }
        Ok(layout)
    }

    pub fn is_current_org(&self, id: &OrgId) -> bool {
        self.org_id.as_ref() == Some(id)
    }

    /// The action URL for an upload form on this page (carries the CSRF token).
    pub fn upload_action(&self, path: &str) -> String {
        crate::auth::csrf::upload_action(path, &self.csrf)
    }
}

/// `path` is `base` itself or a page below it (the path may carry a query).
fn is_under(path: &str, base: &str) -> bool {
    path == base || path.strip_prefix(base).is_some_and(|rest| rest.starts_with(['/', '?']))
}

/// The leadership records under the "Meetings" navigation entry.
const LEADERSHIP: [&str; 6] = ["/meetings", "/actions", "/decisions", "/communications", "/objectives", "/asks"];

/// What auditors and the ISMS side exchange, under the "Audit room" entry.
const AUDIT_ROOM: [&str; 2] = ["/evidence-requests", "/bundles"];

fn nav_for(role: crate::auth::policy::Role, path: &str) -> Vec<NavLink> {
    let items: [(&'static str, &'static str, Action); 13] = [
        ("/dashboard", "Home", Action::ViewHome),
        ("/gaps", "Gaps", Action::ViewGaps),
        ("/leadership", "Leadership", Action::ViewGaps),
        ("/requirements", "Requirements", Action::ViewRequirements),
        ("/evidence", "Evidence", Action::ViewEvidence),
        ("/policies", "Policies", Action::ViewPolicies),
        ("/people", "People", Action::ViewPeople),
        ("/roles", "Roles", Action::ViewRoles),
        ("/training", "Training", Action::ViewTraining),
        ("/meetings", "Meetings", Action::ViewLeadership),
        ("/evidence-requests", "Audit room", Action::ViewEvidenceRequests),
        ("/members", "Members", Action::ViewMembers),
        ("/audit", "Audit log", Action::ViewAuditLog),
    ];
    items
        .into_iter()
        .filter(|(_, _, action)| crate::auth::policy::allows(role, *action))
        .map(|(href, label, _)| {
            // The leadership records share one entry.
            let active = match href {
                "/meetings" => LEADERSHIP.iter().any(|b| is_under(path, b)),
                "/evidence-requests" => AUDIT_ROOM.iter().any(|b| is_under(path, b)),
                "/members" => is_under(path, "/members") || is_under(path, "/settings"),
                "/gaps" => is_under(path, "/gaps") || is_under(path, "/findings"),
                _ => is_under(path, href),
            };
            NavLink { href, label, active }
        })
        .collect()
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII fallback plus the
/// exact UTF-8 name.
pub fn attachment(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') { c } else { '_' })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_names_are_safe() {
        assert_eq!(
            super::attachment("Minutes \"Q3\"/é.pdf"),
            "attachment; filename=\"Minutes _Q3___.pdf\"; filename*=UTF-8''Minutes%20%22Q3%22%2F%C3%A9.pdf"
        );
    }
}
