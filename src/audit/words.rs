//! The audit log in plain words. Rows keep ids (they are what the hash
//! chain covers); pages read them as sentences with names: "Owner changed
//! from Ima Lead to Cee Eo", by whom (their name and title) and when. The
//! names of every id on a page are looked up in one query.
use crate::ids::OrgId;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

/// Names for the ids a page's rows mention: people (with their title),
/// members' accounts, roles, policies, meetings, evidence, modules and
/// requirements, all of this organisation (or the shared catalogue).
#[derive(Debug, Default, Clone)]
pub struct Names(HashMap<Uuid, String>);

impl Names {
    pub fn get(&self, id: &Uuid) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }
}

/// Every UUID in a JSON value (strings only).
fn ids_in(v: &Value, out: &mut Vec<Uuid>) {
    match v {
        Value::String(s) => out.extend(Uuid::parse_str(s).ok()),
        Value::Array(a) => a.iter().for_each(|x| ids_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| ids_in(x, out)),
        _ => {}
    }
}

/// Looks up the names of every id in `details` (JSON texts), `entity_ids`
/// and `actors` (account ids): one query.
pub async fn names(db: &PgPool, org_id: OrgId, details: &[&str], entity_ids: &[&str], actors: &[Uuid]) -> Result<Names, sqlx::Error> {
    let mut ids: Vec<Uuid> = actors.to_vec();
    for d in details {
        if let Ok(v) = serde_json::from_str::<Value>(d) {
            ids_in(&v, &mut ids);
        }
    }
    ids.extend(entity_ids.iter().filter_map(|e| Uuid::parse_str(e).ok()));
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Names::default());
    }
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name AS "name!" FROM (
             SELECT p.id, p.name || COALESCE(' (' || NULLIF(btrim(p.job_title), '') || ')', '') AS name FROM people p WHERE p.org_id = $1 AND p.id = ANY($2)
             UNION ALL
             SELECT u.id, COALESCE((SELECT p.name || COALESCE(' (' || NULLIF(btrim(p.job_title), '') || ')', '') FROM people p
                                     WHERE p.org_id = $1 AND p.user_id = u.id LIMIT 1), u.name) FROM users u
               JOIN memberships m ON m.user_id = u.id AND m.org_id = $1 WHERE u.id = ANY($2)
             UNION ALL SELECT r.id, r.name FROM isms_roles r WHERE r.org_id = $1 AND r.id = ANY($2)
             UNION ALL SELECT pol.id, pol.title FROM policies pol WHERE pol.org_id = $1 AND pol.id = ANY($2)
             UNION ALL SELECT v.id, pol.title || ' v' || v.major || '.' || v.minor FROM policy_versions v JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
               WHERE v.org_id = $1 AND v.id = ANY($2)
             UNION ALL SELECT m.id, m.title FROM meetings m WHERE m.org_id = $1 AND m.id = ANY($2)
             UNION ALL SELECT i.id, i.title FROM evidence_items i WHERE i.org_id = $1 AND i.id = ANY($2)
             UNION ALL SELECT t.id, t.title FROM training_modules t WHERE t.org_id = $1 AND t.id = ANY($2)
             UNION ALL SELECT q.id, q.code || ' ' || q.title FROM requirements q WHERE q.id = ANY($2)
           ) n"#,
        org_id.0,
        &ids,
    )
    .fetch_all(db)
    .await?;
    Ok(Names(rows.into_iter().map(|r| (r.id, r.name)).collect()))
}

/// A field name as words: `owner_id` → "Owner", `exclusion_approved_by` →
/// "Exclusion approved by", `5.3(a)` stays.
pub fn label(key: &str) -> String {
    let known = match key {
        "owner_id" => Some("Owner"),
        "manager_id" => Some("Manager"),
        "chair_id" => Some("Chair"),
        "attendee_ids" => Some("Attendees"),
        "person_id" => Some("Person"),
        "asked_of" => Some("Asked of"),
        "from_id" => Some("From"),
        "decided_by" => Some("Decided by"),
        "appointed_by" => Some("Appointed by"),
        "job_title" => Some("Title"),
        _ => None,
    };
    if let Some(k) = known {
        return k.to_string();
    }
    let words = key.trim_end_matches("_id").replace('_', " ");
    let mut c = words.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A value as words: names for ids, yes/no, "nobody" for an empty person.
pub fn value(v: &Value, names: &Names, key: &str) -> String {
    let person_field = key.ends_with("_id") || key.ends_with("_by") || matches!(key, "asked_of");
    match v {
        Value::Null if person_field => "nobody".into(),
        Value::Null => "nothing".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) if s.trim().is_empty() => "nothing".into(),
        Value::String(s) => match Uuid::parse_str(s) {
            Ok(id) => names.get(&id).map(str::to_string).unwrap_or_else(|| "a record since removed".into()),
            // Stored values (in_progress) read as words.
            Err(_) if s.chars().all(|c| c.is_ascii_lowercase() || c == '_') => s.replace('_', " "),
            Err(_) => format!("\u{201c}{s}\u{201d}"),
        },
        Value::Array(a) if a.is_empty() => "nothing".into(),
        Value::Array(a) => a.iter().map(|x| value(x, names, key)).collect::<Vec<_>>().join(", "),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => "details".into(),
    }
}

/// A row's details as sentences, one per field: "Owner changed from A to
/// B" for a change, "Status: implemented" for a value.
pub fn sentences(details: &str, names: &Names) -> Vec<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(details) else { return Vec::new() };
    map.iter()
        .map(|(k, v)| match v {
            Value::Array(pair) if pair.len() == 2 && !matches!(k.as_str(), "attendee_ids" | "inputs" | "objective_ids" | "audience_departments") => {
                format!("{} changed from {} to {}", label(k), value(&pair[0], names, k), value(&pair[1], names, k))
            }
            other => format!("{}: {}", label(k), value(other, names, k)),
        })
        .collect()
}

/// A day as people write it: "3 May 2026".
pub fn day(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_sentences_with_names_and_no_ids() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let names = Names([(a, "Ima Lead (ISMS lead)".to_string()), (b, "Cee Eo (Chief executive)".to_string())].into_iter().collect());
        let details = serde_json::json!({"owner_id": [a, b], "status": ["not_started", "in_progress"], "applicable": [true, false], "notes": ["", "Checked"], "manager_id": [null, a]}).to_string();
        let s = sentences(&details, &names);
        assert!(s.contains(&"Owner changed from Ima Lead (ISMS lead) to Cee Eo (Chief executive)".to_string()), "{s:?}");
        assert!(s.contains(&"Status changed from not started to in progress".to_string()), "{s:?}");
        assert!(s.contains(&"Applicable changed from yes to no".to_string()), "{s:?}");
        assert!(s.contains(&"Notes changed from nothing to \u{201c}Checked\u{201d}".to_string()), "{s:?}");
        assert!(s.contains(&"Manager changed from nobody to Ima Lead (ISMS lead)".to_string()), "{s:?}");
        let gone = Uuid::new_v4();
        let unknown = sentences(&serde_json::json!({"owner_id": [gone, null]}).to_string(), &names);
        assert_eq!(unknown, vec!["Owner changed from a record since removed to nobody".to_string()]);
        for id in [a, b, gone] {
            assert!(s.iter().chain(&unknown).all(|x| !x.contains(&id.to_string())), "no id is shown");
        }
    }
}
