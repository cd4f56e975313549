//! Awareness and role-based training: modules, completions and who is
//! current (`model`), completions imported from a learning platform
//! (`import`), and the pages (`routes`).
pub mod import;
pub mod model;
pub mod routes;

pub use routes::routes;
