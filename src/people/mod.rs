//! The people directory: staff and contractors (`model`), its pages, CSV
//! export and import (`routes`, `import`), who a policy or module is for
//! (`audience`), how acts name their people (`attribution`), the
//! top-management roster (`roster`) and person fields in forms (`pick`).
pub mod attribution;
pub mod audience;
pub mod import;
pub mod model;
pub mod pick;
pub mod roster;
pub mod routes;

pub use routes::routes;
