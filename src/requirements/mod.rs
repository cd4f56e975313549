//! The requirements register: the catalogue's items with this
//! organisation's applicability, owner, status and notes.
pub mod catalogue;
pub mod model;
pub mod records;
pub mod routes;

pub use routes::routes;
