//! The JSON API at `/api/v1`: every kind of record to read, and people,
//! training, evidence, acknowledgements and corrective actions to write,
//! for scripts and other systems (HR, training). A personal access token
//! (`tokens`) acts as its member, limited to its scopes, through the same
//! role table as the pages (`auth::policy`); the route declares both
//! (`Access::Token`). Answers are JSON with ETags, errors problem details,
//! and the OpenAPI document is made from the handlers' types (`doc`).
pub mod acknowledgements;
pub mod caller;
pub mod doc;
pub mod evidence;
pub mod findings;
pub mod json;
pub mod leadership;
pub mod me;
pub mod org;
pub mod oscal;
pub mod pages;
pub mod people;
pub mod records;
pub mod tokens;
pub mod training;

use crate::web::routes::Routes;

pub fn routes(r: Routes) -> Routes {
    let r = pages::routes(r);
    let r = doc::routes(r);
    let r = me::routes(r);
    let r = people::routes(r);
    let r = records::routes(r);
    let r = leadership::routes(r);
    let r = org::routes(r);
    let r = training::routes(r);
    let r = findings::routes(r);
    let r = evidence::routes(r);
    let r = acknowledgements::routes(r);
    oscal::routes(r)
}
