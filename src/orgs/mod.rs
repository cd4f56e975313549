//! Organisations and their members: accounts, memberships and invitations
//! (`model`), auditors' access windows (`window`), and the pages to choose
//! and create organisations, manage members and accept invitations (`routes`).
pub mod model;
pub mod routes;
pub mod window;

pub use routes::routes;
