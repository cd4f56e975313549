//! Awareness and role-based training: modules, completions and who is
//! current (`model`), completions imported from a learning platform
//! (`import`), campaigns whose personal links let people confirm a
//! completion without an account (`campaigns`), and the pages (`routes`).
pub mod import;
pub mod model;
pub mod routes;

pub mod campaigns {
    pub mod model;
    pub mod routes;
}

pub fn routes(r: crate::web::routes::Routes) -> crate::web::routes::Routes {
    campaigns::routes::routes(routes::routes(r))
}
