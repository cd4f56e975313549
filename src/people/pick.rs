//! Naming a person in a form without listing the whole directory.
//!
//! A person field is a text box (`templates/partials/people.html`) with a
//! short list of suggestions: top management, and whoever the record already
//! names. The script adds the server's search (`GET /people/search?q=`) to
//! that list as one types. Without the script, one types a name or an e-mail
//! address and the server finds the person when the form is sent.
//!
//! So a form sends either an id or what was typed: a name, an e-mail address,
//! or the "Name <e-mail>" label a suggestion fills in. `resolve` turns every
//! person field of a form into an id in one query, or says why it cannot, so
//! nothing typed is lost.
use super::model::Choice;
use crate::error::AppResult;
use crate::ids::{OrgId, PersonId};
use crate::web::FieldErrors;
use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

/// How many matches the search answers with.
pub const SEARCH_LIMIT: i64 = 20;

/// The suggestions a person field starts with: current top management, and
/// `keep` (the people the record names now, even if they have left).
pub async fn choices(db: &PgPool, org_id: OrgId, today: NaiveDate, keep: &[PersonId]) -> AppResult<Vec<Choice>> {
    let keep: Vec<Uuid> = keep.iter().map(|k| k.0).collect();
    Ok(sqlx::query_as!(
        Choice,
        r#"SELECT id AS "id!: PersonId", name AS "name!", email AS "email!", job_title AS "job_title!", top_management AS "top_management!",
                  is_current_on(start_date, end_date, $2) AS "current!"
             FROM (SELECT * FROM people WHERE org_id = $1 AND top_management AND (end_date IS NULL OR end_date > $2)
                   UNION SELECT * FROM people WHERE org_id = $1 AND id = ANY($3)) p
            ORDER BY top_management DESC, name, email"#,
        org_id.0,
        today,
        &keep,
    )
    .fetch_all(db)
    .await?)
}

/// A register whose owner filter lists the people who own its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Evidence,
    Requirements,
}

/// The people who own records of `register` (its owner filter): bounded by
/// the owners, not the directory. Kept until the records change
/// (`crate::cache`): finding them reads every item's owner.
pub async fn owners(db: &PgPool, kept: &crate::cache::Cache, org_id: OrgId, today: NaiveDate, register: Owned) -> AppResult<Vec<Choice>> {
    let all = kept.current(db, org_id, today, || owners_of_both(db, org_id, today)).await?;
    Ok(match register {
        Owned::Evidence => all.evidence.clone(),
        Owned::Requirements => all.requirements.clone(),
    })
}

/// The owners of both registers, as kept.
struct Owners {
    evidence: Vec<Choice>,
    requirements: Vec<Choice>,
}

async fn owners_of_both(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<Owners> {
    let rows = sqlx::query!(
        r#"SELECT o.evidence AS "evidence!", p.id AS "id!: PersonId", p.name, p.email, p.job_title, p.top_management,
                  is_current_on(p.start_date, p.end_date, $2) AS "current!"
             FROM (SELECT DISTINCT true AS evidence, owner_id FROM evidence_items WHERE org_id = $1 AND owner_id IS NOT NULL
                   UNION SELECT DISTINCT false, owner_id FROM requirement_states WHERE org_id = $1 AND owner_id IS NOT NULL) o
             JOIN people p ON p.org_id = $1 AND p.id = o.owner_id
            ORDER BY p.name, p.email"#,
        org_id.0,
        today,
    )
    .fetch_all(db)
    .await?;
    let mut owners = Owners { evidence: Vec::new(), requirements: Vec::new() };
    for r in rows {
        let choice = Choice { id: r.id, name: r.name, email: r.email, job_title: r.job_title, top_management: r.top_management, current: r.current };
        if r.evidence { owners.evidence.push(choice) } else { owners.requirements.push(choice) }
    }
    Ok(owners)
}

/// The people a form's person fields name by id (to suggest them again, with
/// their labels, when the form is shown).
pub fn ids<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<PersonId> {
    values.into_iter().filter_map(|v| v.trim().parse().ok()).map(PersonId).collect()
}

/// Current staff whose name has a word starting with `q`, or whose e-mail
/// address starts with it; top management first.
pub async fn search(db: &PgPool, org_id: OrgId, today: NaiveDate, q: &str, limit: i64) -> AppResult<Vec<Choice>> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let pattern = like_prefix(q);
    Ok(sqlx::query_as!(
        Choice,
        r#"SELECT id AS "id: PersonId", name, email, job_title, top_management,
                  is_current_on(start_date, end_date, $2) AS "current!"
             FROM people
            WHERE org_id = $1 AND (end_date IS NULL OR end_date > $2)
              AND (lower(name) LIKE lower($3) OR lower(name) LIKE '% ' || lower($3) OR lower(email) LIKE lower($3))
            ORDER BY top_management DESC, name, email
            LIMIT $4"#,
        org_id.0,
        today,
        pattern,
        limit,
    )
    .fetch_all(db)
    .await?)
}

/// `q%` with LIKE's own characters taken literally.
fn like_prefix(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 1);
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// What a person field holds once read.
#[derive(Debug, PartialEq)]
enum Typed {
    Nothing,
    Id,
    Email(String),
    Name(String),
}

fn typed(raw: &str) -> Typed {
    let v = raw.trim();
    if v.is_empty() {
        return Typed::Nothing;
    }
    if v.parse::<Uuid>().is_ok() {
        return Typed::Id;
    }
    // "Name <e-mail>", as a suggestion fills it in.
    if let (Some(open), true) = (v.rfind('<'), v.ends_with('>')) {
        return Typed::Email(v[open + 1..v.len() - 1].trim().to_string());
    }
    if v.contains('@') {
        return Typed::Email(v.to_string());
    }
    Typed::Name(v.to_string())
}

/// Turns each field's text into the id of the person it names, in place.
/// A field that names nobody, or several people, keeps its text and gets a
/// message saying what to type instead. Ids pass through unchanged: the
/// record's own rules check them.
pub async fn resolve(db: &PgPool, org_id: OrgId, today: NaiveDate, fields: Vec<(&'static str, &mut String)>) -> AppResult<FieldErrors> {
    let mut errors = FieldErrors::default();
    let read: Vec<Typed> = fields.iter().map(|(_, v)| typed(v)).collect();
    // Each text with whether it is an address; PostgreSQL folds the case of
    // both sides alike (whatever the letters), and answers which text each
    // match is for (`n`, from 1).
    let (texts, by_email): (Vec<String>, Vec<bool>) = read
        .iter()
        .map(|t| match t {
            Typed::Email(e) => (e.clone(), true),
            Typed::Name(n) => (n.clone(), false),
            Typed::Nothing | Typed::Id => (String::new(), false),
        })
        .unzip();
    if texts.iter().all(String::is_empty) {
        return Ok(errors);
    }
    let found = sqlx::query!(
        r#"SELECT q.n AS "n!", p.id AS "id!: PersonId", p.email AS "email!"
             FROM unnest($2::text[], $3::bool[]) WITH ORDINALITY AS q(txt, by_email, n)
             JOIN people p ON p.org_id = $1 AND q.txt <> ''
                  AND ((q.by_email AND lower(p.email) = lower(q.txt))
                       OR (NOT q.by_email AND lower(p.name) = lower(q.txt) AND (p.end_date IS NULL OR p.end_date > $4)))
            ORDER BY q.n, p.name, p.email"#,
        org_id.0,
        &texts,
        &by_email,
        today,
    )
    .fetch_all(db)
    .await?;
    for (i, ((field, value), t)) in fields.into_iter().zip(read).enumerate() {
        if matches!(t, Typed::Nothing | Typed::Id) {
            continue;
        }
        let matches: Vec<_> = found.iter().filter(|p| p.n == i as i64 + 1).collect();
        match matches.as_slice() {
            [one] => *value = one.id.to_string(),
            [] => errors.add(field, format!(
                "Nobody in the directory is {} “{}”. Type part of the name and choose from the suggestions, or enter their e-mail address.",
                if matches!(t, Typed::Email(_)) { "at" } else { "called" },
                value.trim()
            )),
            several => {
                let shown: Vec<&str> = several.iter().take(5).map(|p| p.email.as_str()).collect();
                errors.add(field, format!(
                    "{} people are called “{}”: enter the e-mail address of the one you mean ({}{}).",
                    several.len(),
                    value.trim(),
                    shown.join(", "),
                    if several.len() > shown.len() { ", …" } else { "" }
                ));
            }
        }
    }
    Ok(errors)
}

/// What a person field shows for `value`: the label of the person it names
/// when that is one of `choices`, otherwise the text as it was typed.
pub fn shown(value: &str, choices: &[Choice]) -> String {
    choices.iter().find(|c| c.id.to_string() == value.trim()).map(Choice::pick_label).unwrap_or_else(|| value.to_string())
}

/// A form's person fields resolved (`picked`) and the rest of the form read
/// (`parsed`): the fields, or every message of both.
pub fn merged<T>(picked: FieldErrors, parsed: Result<T, FieldErrors>) -> Result<T, FieldErrors> {
    match parsed {
        Ok(fields) if picked.is_empty() => Ok(fields),
        Ok(_) => Err(picked),
        Err(more) => {
            let mut all = picked;
            for (f, m) in more.messages() {
                all.add(f, m.clone());
            }
            Err(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_typed() {
        assert_eq!(typed("  "), Typed::Nothing);
        assert_eq!(typed(&Uuid::nil().to_string()), Typed::Id);
        assert_eq!(typed("Anna Nowak <Anna@Example.com>"), Typed::Email("Anna@Example.com".into()));
        assert_eq!(typed("anna@example.com"), Typed::Email("anna@example.com".into()));
        assert_eq!(typed(" Anna  Nowak "), Typed::Name("Anna  Nowak".into()));
    }

    #[test]
    fn search_patterns_take_like_characters_literally() {
        assert_eq!(like_prefix("a_b%"), "a\\_b\\%%");
    }
}
