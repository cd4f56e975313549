//! The API's OpenAPI 3.1 document, generated from the handlers' types
//! (utoipa), served at `/api/v1/openapi.json`, and its reference page at
//! `/docs/api`. Every operation is given the answers every operation can
//! give (401, 403, 429, problem details) here, once.
use super::{acknowledgements, evidence, findings, leadership, me, org, oscal, people, records, training};
use crate::auth::policy::Access;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::routes::Routes;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/openapi.json", Access::Public, document).get("/docs/api", Access::Public, reference)
}

/// An error, as RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and title say what happened.
    #[schema(example = "about:blank")]
    pub r#type: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words for the person reading the log.
    pub detail: String,
    /// The path asked for.
    pub instance: String,
    /// The id the server log has the request under.
    pub request_id: String,
    /// For invalid fields: each field and what is wrong with it.
    pub errors: Option<Vec<FieldProblem>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mandate API",
        version = "1",
        description = "Leadership evidence for ISO/IEC 27001:2022 clause 5 and Annex A 5.4, as JSON. Authenticate with a personal access token \
                       (Your account, API tokens) sent as `Authorization: Bearer <token>`; a token acts as its member, limited to its scopes. \
                       Lists are paged with `cursor` and `limit`, filtered with `updated_since`, and answer `ETag` (send it back as \
                       `If-None-Match` for a 304). Errors are problem details (RFC 9457). Each token may make a limited number of requests \
                       a minute; the `RateLimit-*` headers say how many remain.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        me::me,
        people::list, people::create, people::sync, people::show, people::update,
        records::requirements, records::requirement, records::roles, records::appointments,
        records::evidence, records::evidence_item, records::policies, records::policy,
        records::modules, records::training_records, records::meetings, records::meeting,
        records::findings, records::finding, records::gaps,
        training::sync, findings::update, evidence::upload, evidence::file, evidence::add_revision, acknowledgements::import,
        leadership::decisions, leadership::communications, leadership::objectives, leadership::asks, leadership::actions,
        leadership::policy_versions, leadership::acknowledgements, leadership::evidence_requests,
        org::members, org::raci, org::audit_log,
        oscal::catalog, oscal::component_definition, oscal::assessment_results,
    ),
    servers((url = "/", description = "This server")),
    components(schemas(Problem, FieldProblem)),
    modifiers(&Common),
    tags(
        (name = "account", description = "Who the token acts as, the members and the audit log"),
        (name = "people", description = "The directory, and its sync from an HR system"),
        (name = "requirements", description = "Clause 5 and Annex A 5.4, with owners and status"),
        (name = "roles", description = "ISMS roles and appointments"),
        (name = "evidence", description = "Evidence items and their files"),
        (name = "policies", description = "Policies and their versions"),
        (name = "training", description = "Training modules and records, and their sync from a training system"),
        (name = "leadership", description = "Management reviews and other leadership records"),
        (name = "findings", description = "Gaps and the corrective actions tracking them"),
        (name = "oscal", description = "OSCAL 1.2.3 documents: the catalog, Mandate's component definition, the assessment results"),
    ),
)]
pub struct ApiDoc;

/// The bearer scheme, and the answers any operation may give.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Components::new);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
        let problem = || {
            ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem"))).build()
        };
        let common: [(&str, &str); 6] = [
            ("400", "The query or body could not be read"),
            ("401", "No token, or one that is unknown, expired or revoked (see WWW-Authenticate)"),
            ("403", "The token's member or scopes do not allow this"),
            ("409", "The change conflicts with the records as they stand (the detail says how)"),
            ("429", "The token made too many requests this minute (see Retry-After)"),
            ("500", "The server failed; nothing was changed"),
        ];
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete].into_iter().flatten() {
                for (code, description) in common {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| ResponseBuilder::new().description(description).content("application/problem+json", problem()).build().into());
                }
                if op.request_body.is_some() {
                    for (code, description) in [("413", "The body is larger than the operation takes"), ("415", "The body is not JSON"), ("422", "The body is not what the operation takes")] {
                        op.responses
                            .responses
                            .entry(code.to_string())
                            .or_insert_with(|| ResponseBuilder::new().description(description).content("application/problem+json", problem()).build().into());
                    }
                }
            }
        }
    }
}

/// The document, made once.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The document as served: problem answers typed `application/problem+json`,
/// an operation id from each method and path, and only the schemas used.
pub fn served() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| finish(serde_json::to_value(openapi()).unwrap_or_default()))
}

fn finish(mut doc: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
                let name = path.trim_start_matches("/api/v1/").replace("{id}", "by_id").replace(['/', '-', '.'], "_");
                op["operationId"] = Value::String(format!("{method}_{name}"));
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
                for (status, response) in responses.iter_mut() {
                    let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else { continue };
                    let is_problem = content.get("application/json").is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
                    if is_problem && let Some(c) = content.remove("application/json") {
                        content.insert("application/problem+json".into(), c);
                    } else if status.starts_with('4') && !content.contains_key("application/problem+json") {
                        // A report of the operation's own (a sync's problems), or the
                        // framework's problem when the body could not be read at all.
                        content.insert("application/problem+json".into(), serde_json::json!({"schema": {"$ref": "#/components/schemas/Problem"}}));
                    }
                }
            }
        }
    }
    // Schemas nothing refers to (a page's items are written out in it) go.
    let text = doc.to_string();
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.retain(|name, _| text.contains(&format!("\"#/components/schemas/{name}\"")));
    }
    doc
}

/// The OpenAPI 3.1 document of this API.
async fn document(headers: HeaderMap) -> AppResult<Response> {
    super::json::reply(&headers, StatusCode::OK, served())
}

struct Operation {
    method: String,
    path: String,
    summary: String,
    scope: String,
}

/// The token scopes an operation needs, as its security requirement names them.
pub fn scopes_of(op: &utoipa::openapi::path::Operation) -> Vec<String> {
    let json = serde_json::to_value(&op.security).unwrap_or_default();
    json.as_array().into_iter().flatten().filter_map(|req| req.get("bearer")).filter_map(|v| v.as_array()).flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "api/docs.html")]
struct Reference {
    layout: crate::web::Layout,
    groups: Vec<(String, String, Vec<Operation>)>,
    base: String,
}

/// The reference page: every operation by tag, with the scope it needs.
async fn reference(State(state): State<AppState>, visitor: crate::auth::session::Visitor) -> AppResult<Reference> {
    let doc = openapi();
    let mut groups: Vec<(String, String, Vec<Operation>)> =
        doc.tags.iter().flatten().map(|t| (t.name.clone(), t.description.clone().unwrap_or_default(), Vec::new())).collect();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [("get", &item.get), ("post", &item.post), ("patch", &item.patch)] {
            let Some(op) = op else { continue };
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned().unwrap_or_default();
            let summary = op.summary.clone().or_else(|| op.description.clone()).unwrap_or_default();
            let scope = scopes_of(op).join(", ");
            if let Some(g) = groups.iter_mut().find(|g| g.0 == tag) {
                g.2.push(Operation { method: method.to_uppercase(), path: path.clone(), summary, scope });
            }
        }
    }
    Ok(Reference { layout: crate::web::Layout::basic(&visitor, "API reference"), groups, base: state.config.link("") })
}
