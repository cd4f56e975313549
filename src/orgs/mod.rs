//! Organisations and their members: accounts, memberships and invitations
//! (`model`), auditors' access windows (`window`), and the pages to choose
//! and create organisations, manage members and accept invitations (`routes`),
//! and how the organisation wants findings graded (`settings`).
pub mod model;
pub mod routes;
pub mod settings;
pub mod window;

pub use routes::routes;
