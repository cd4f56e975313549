//! OSCAL (NIST's Open Security Controls Assessment Language, JSON, version
//! 1.2.3): the requirement catalogue as a `catalog`, an organisation's
//! standing on a day as `assessment-results` (a finding per requirement,
//! graded by the gaps that touch it; an observation per piece of evidence,
//! pointing at its file by SHA-256), and Mandate as a `component-definition`.
//! Every bundle carries them (`bundles::build`, which streams the long
//! parts); the API serves them whole. Pure functions: the callers read the
//! records. Ids are name-based (UUID v5), so the same record has the same
//! id in every document, as OSCAL asks.
use crate::gaps::model::{Gap, Severity};
use crate::gaps::snapshot::Requirement;
use crate::requirements::catalogue::{self, Catalogue};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The OSCAL version the documents follow (and tests/oscal's schema is).
pub const OSCAL_VERSION: &str = "1.2.3";
/// The namespace of Mandate's own properties (grade, gap rule, requirement code).
pub const NS: &str = "https://github.com/mandate-grc/mandate/ns/oscal";
/// Where the files sit in a bundle, and so what their links are relative to.
pub const CATALOG_FILE: &str = "oscal/catalog.json";
pub const RESULTS_FILE: &str = "oscal/assessment-results.json";
pub const COMPONENT_FILE: &str = "oscal/component-definition.json";

/// A name-based id: the same name gives the same id in every document.
pub fn uuid(name: &str) -> Uuid {
    let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:mandate:oscal");
    Uuid::new_v5(&ns, name.as_bytes())
}

/// A time as OSCAL writes it: seconds, `Z`.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A requirement code as an OSCAL token: `5.1(a)` → `iso27001-5.1-a`, `A.5.4` → `iso27001-a.5.4`.
pub fn control_id(code: &str) -> String {
    let mut t = String::from("iso27001-");
    for c in code.to_lowercase().chars() {
        match c {
            '(' => t.push('-'),
            ')' => {}
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => t.push(c),
            _ => t.push('_'),
        }
    }
    t
}

/// The assessment objective of a requirement: what a finding targets.
pub fn objective_id(code: &str) -> String {
    format!("{}_obj", control_id(code))
}

/// The leadership catalogue, as embedded in the binary.
pub fn leadership() -> anyhow::Result<Catalogue> {
    let (_, text) = catalogue::CATALOGUES.iter().find(|(name, _)| name.starts_with("iso27001-2022-leadership")).ok_or_else(|| anyhow::anyhow!("the leadership catalogue is missing"))?;
    catalogue::parse(text)
}

fn metadata(title: &str, version: &str, at: DateTime<Utc>, props: Vec<Value>) -> Value {
    let mut m = json!({"title": title, "last-modified": time(at), "version": version, "oscal-version": OSCAL_VERSION});
    if !props.is_empty() {
        m["props"] = Value::Array(props);
    }
    m
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value})
}

/// The catalogue as an OSCAL catalog: a group per clause, a control per
/// requirement with its statement, what an auditor looks for (the
/// assessment objective) and the evidence that meets it (guidance).
pub fn catalog(c: &Catalogue, at: DateTime<Utc>) -> Value {
    let groups: Vec<Value> = c
        .clauses
        .iter()
        .filter_map(|cl| {
            let controls: Vec<Value> = c
                .requirements
                .iter()
                .filter(|r| r.clause == cl.code)
                .map(|r| {
                    let id = control_id(&r.code);
                    let mut parts = vec![
                        json!({"id": format!("{id}_smt"), "name": "statement", "prose": r.summary}),
                        json!({"id": format!("{id}_obj"), "name": "assessment-objective", "prose": r.auditor_looks_for}),
                    ];
                    if !r.evidence.is_empty() {
                        parts.push(json!({"id": format!("{id}_gdn"), "name": "guidance", "prose": format!("Evidence that meets it: {}.", r.evidence.join("; "))}));
                    }
                    json!({"id": id, "class": "requirement", "title": r.title, "props": [{"name": "label", "value": r.code}], "parts": parts})
                })
                .collect();
            (!controls.is_empty()).then(|| {
                json!({"id": control_id(&cl.code), "class": "clause", "title": cl.title, "props": [{"name": "label", "value": cl.code}],
                       "parts": [{"id": format!("{}_ovw", control_id(&cl.code)), "name": "overview", "prose": cl.summary}], "controls": controls})
            })
        })
        .collect();
    json!({"catalog": {
        "uuid": uuid(&format!("catalog/{}/{}", c.framework.key, c.framework.version)),
        "metadata": metadata(&c.framework.title, &c.framework.version.to_string(), at, vec![prop("catalogue-key", &c.framework.key)]),
        "groups": groups,
    }})
}

/// Mandate as a component: for each requirement, how Mandate keeps its evidence.
pub fn component_definition(c: &Catalogue, at: DateTime<Utc>, catalog_href: &str) -> Value {
    let implemented: Vec<Value> = c
        .requirements
        .iter()
        .map(|r| {
            let how = if r.records.is_empty() {
                "Evidence items are uploaded, linked to the requirement and kept with their SHA-256; the gap list says when none counts.".to_string()
            } else {
                let kinds: Vec<&str> = r.records.iter().map(|s| s.label()).collect();
                format!("Mandate's own records count as evidence ({}), besides evidence items uploaded and linked to the requirement.", kinds.join(", "))
            };
            json!({"uuid": uuid(&format!("component/mandate/{}", r.code)), "control-id": control_id(&r.code), "description": how})
        })
        .collect();
    json!({"component-definition": {
        "uuid": uuid(&format!("component-definition/{}/{}", c.framework.key, c.framework.version)),
        "metadata": metadata("Mandate: how the leadership requirements are evidenced", &c.framework.version.to_string(), at, vec![]),
        "components": [{
            "uuid": uuid("component/mandate"),
            "type": "software",
            "title": "Mandate",
            "description": "A compliance centre that maps ISO/IEC 27001:2022 clause 5 and Annex A 5.4 to owners, evidence and management reviews, and grades the gaps.",
            "purpose": "Keep, grade and export the evidence that leadership leads the ISMS.",
            "control-implementations": [{
                "uuid": uuid(&format!("component/mandate/implementation/{}", c.framework.key)),
                "source": catalog_href,
                "description": "The requirements of the catalogue Mandate keeps evidence for.",
                "implemented-requirements": implemented,
            }],
        }],
    }})
}

/// What an assessment-results document is about.
pub struct Assessment<'a> {
    pub org_id: Uuid,
    pub org_name: &'a str,
    pub as_of: NaiveDate,
    /// When the period assessed starts (the bundle's period, or the day).
    pub start: DateTime<Utc>,
    /// The end of the day assessed.
    pub end: DateTime<Utc>,
    pub generated: DateTime<Utc>,
    /// Where the catalog is, from the document (a relative link in a bundle).
    pub catalog_href: &'a str,
}

impl Assessment<'_> {
    fn name(&self, what: &str) -> String {
        format!("{}/{}/{what}", self.org_id, self.as_of)
    }
}

/// A piece of evidence an observation points at: a file (of the bundle, or
/// of the app) with its SHA-256.
pub struct EvidenceRef<'a> {
    /// What names it uniquely (its path in the bundle).
    pub key: &'a str,
    /// What names the file it is in: its own path, or for Mandate's own
    /// records the one list that holds them all (one resource, many observations).
    pub resource_key: &'a str,
    pub title: &'a str,
    pub href: String,
    pub media_type: Option<&'a str>,
    pub sha256: &'a str,
    /// The requirement codes it is linked to.
    pub requirements: &'a [String],
    /// When it was collected (its evidence date, or the day assessed).
    pub collected: DateTime<Utc>,
    /// Mandate's own record rather than an uploaded file.
    pub derived: bool,
}

/// The observation of one piece of evidence, and the back-matter resource
/// that holds its link and hash. The observation's id is returned too, for
/// the findings of the requirements it supports.
pub fn observation(a: &Assessment<'_>, e: &EvidenceRef<'_>) -> (Uuid, Value, Value) {
    let resource_id = uuid(&format!("{}/resource/{}", a.org_id, e.resource_key));
    let id = uuid(&a.name(&format!("observation/{}", e.key)));
    let codes = if e.requirements.is_empty() { "no requirement".to_string() } else { e.requirements.join(", ") };
    let what = if e.derived { "A record Mandate holds" } else { "An evidence file" };
    let mut props = vec![];
    for code in e.requirements {
        props.push(prop("requirement", code));
    }
    let mut obs = json!({
        "uuid": id,
        "title": e.title,
        "description": format!("{what}, linked to {codes}: {}.", e.title),
        "methods": ["EXAMINE"],
        "types": ["control-objective"],
        "relevant-evidence": [{"href": format!("#{resource_id}"), "description": format!("{} (its SHA-256 is in the back-matter resource).", e.title)}],
        "collected": time(e.collected),
    });
    if !props.is_empty() {
        obs["props"] = Value::Array(props);
    }
    let mut rlink = json!({"href": &e.href, "hashes": [{"algorithm": "SHA-256", "value": e.sha256}]});
    if let Some(m) = e.media_type {
        rlink["media-type"] = json!(m);
    }
    let title = if e.derived { "The records Mandate holds that count as evidence" } else { e.title };
    let resource = json!({"uuid": resource_id, "title": title, "props": [{"name": "type", "value": "evidence"}], "rlinks": [rlink]});
    (id, obs, resource)
}

/// The opening of the document, up to its one result's observations: the
/// document's id, metadata and plan, and the result's id, period and the
/// controls reviewed.
pub fn heads(a: &Assessment<'_>, requirements: &[Requirement]) -> (Value, Value) {
    let doc = json!({
        // A new document id whenever it is made again (OSCAL asks one per revision).
        "uuid": uuid(&a.name(&format!("assessment-results/{}", time(a.generated)))),
        "metadata": metadata(
            &format!("{}: ISO/IEC 27001:2022 leadership requirements as of {}", a.org_name, a.as_of),
            &a.as_of.to_string(),
            a.generated,
            vec![prop("as-of", &a.as_of.to_string())],
        ),
        "import-ap": {
            "href": format!("#{}", plan_resource_id(a)),
            "remarks": "Mandate keeps no separate assessment plan: every requirement of the catalog is assessed continuously against the records held.",
        },
    });
    let codes: Vec<Value> = requirements.iter().filter(|r| r.applicable).map(|r| json!({"control-id": control_id(&r.code)})).collect();
    let selections = if codes.is_empty() { json!([{"include-all": {}}]) } else { json!([{"include-controls": codes}]) };
    let result = json!({
        "uuid": uuid(&a.name("result")),
        "title": format!("The leadership requirements on {}", a.as_of),
        "description": "Each applicable requirement, graded by the gaps Mandate finds in the records at the end of the day, with the evidence held for it.",
        "start": time(a.start),
        "end": time(a.end),
        "reviewed-controls": {"control-selections": selections},
    });
    (doc, result)
}

fn plan_resource_id(a: &Assessment<'_>) -> Uuid {
    uuid(&a.name("plan"))
}

/// The back-matter resource the document's `import-ap` names: the catalog.
pub fn plan_resource(a: &Assessment<'_>) -> Value {
    json!({"uuid": plan_resource_id(a), "title": "The requirements assessed: the catalog",
           "description": "No separate assessment plan is kept; the requirements assessed are those of this catalog.",
           "rlinks": [{"href": a.catalog_href, "media-type": "application/json"}]})
}

/// A finding per applicable requirement: satisfied when no gap touches it,
/// otherwise not satisfied, graded by its most serious gap, with each gap
/// named; related to the observations of its evidence.
pub fn findings(a: &Assessment<'_>, requirements: &[Requirement], gaps: &[Gap], observed: &BTreeMap<String, Vec<Uuid>>) -> Vec<Value> {
    requirements
        .iter()
        .filter(|r| r.applicable)
        .map(|r| {
            let touching: Vec<&Gap> = gaps.iter().filter(|g| g.requirements.iter().any(|c| c == &r.code)).collect();
            let worst = touching.iter().map(|g| g.severity).min();
            let mut f = json!({
                "uuid": uuid(&a.name(&format!("finding/{}", r.code))),
                "title": format!("{}: {}", r.code, r.title),
                "description": match touching.is_empty() {
                    true => format!("No gap on {}: the records Mandate holds meet it ({} evidence item(s) count).", a.as_of, r.evidence),
                    false => format!("Gaps on {}: {}.", a.as_of, touching.iter().map(|g| g.title.as_str()).collect::<Vec<_>>().join("; ")),
                },
                "target": {
                    "type": "objective-id",
                    "target-id": objective_id(&r.code),
                    "status": if touching.is_empty() { json!({"state": "satisfied", "reason": "pass"}) } else { json!({"state": "not-satisfied", "reason": "fail"}) },
                },
            });
            let mut props = vec![prop("requirement", &r.code), prop("status", &r.status)];
            if let Some(sev) = worst {
                props.push(json!({"name": "grade", "ns": NS, "value": sev.as_str(), "remarks": grade_words(sev)}));
            }
            for g in &touching {
                props.push(prop("gap-rule", g.rule));
            }
            f["props"] = Value::Array(props);
            if let Some(obs) = observed.get(&r.code).filter(|o| !o.is_empty()) {
                f["related-observations"] = obs.iter().map(|id| json!({"observation-uuid": id})).collect();
            }
            f
        })
        .collect()
}

fn grade_words(s: Severity) -> &'static str {
    match s {
        Severity::Major => "Major nonconformity: the requirement is not met, or a lapse puts the ISMS's results in doubt.",
        Severity::Minor => "Minor nonconformity: an isolated lapse.",
        Severity::Improvement => "Opportunity for improvement: nothing is broken.",
    }
}

/// A whole assessment-results document built in memory (the API's; the
/// bundle streams the same parts).
pub fn assessment_results(a: &Assessment<'_>, requirements: &[Requirement], gaps: &[Gap], evidence: &[EvidenceRef<'_>]) -> Value {
    let (mut doc, mut result) = heads(a, requirements);
    let mut observed: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    let (mut observations, mut resources) = (Vec::new(), vec![plan_resource(a)]);
    let mut listed = std::collections::HashSet::new();
    for e in evidence {
        let (id, obs, res) = observation(a, e);
        for code in e.requirements {
            observed.entry(code.clone()).or_default().push(id);
        }
        observations.push(obs);
        if listed.insert(e.resource_key) {
            resources.push(res);
        }
    }
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    let findings = findings(a, requirements, gaps, &observed);
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    doc["results"] = json!([result]);
    doc["back-matter"] = json!({"resources": resources});
    json!({"assessment-results": doc})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_oscal_tokens() {
        assert_eq!(control_id("5.1(a)"), "iso27001-5.1-a");
        assert_eq!(control_id("A.5.4"), "iso27001-a.5.4");
        assert_eq!(objective_id("5.3(b)"), "iso27001-5.3-b_obj");
        let token = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
        let c = leadership().unwrap();
        assert!(c.requirements.iter().all(|r| token(&control_id(&r.code))));
    }

    #[test]
    fn ids_are_the_same_for_the_same_name_and_version_5() {
        assert_eq!(uuid("a"), uuid("a"));
        assert_ne!(uuid("a"), uuid("b"));
        assert_eq!(uuid("a").get_version_num(), 5);
    }

    #[test]
    fn the_catalog_has_every_requirement_once() {
        let c = leadership().unwrap();
        let doc = catalog(&c, Utc::now());
        let ids: Vec<String> = doc["catalog"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["controls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(ids.len(), c.requirements.len());
        assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), ids.len());
    }
}
