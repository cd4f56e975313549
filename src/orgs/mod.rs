//! Organisations and their members: accounts, memberships and invitations
//! (`model`), auditors' access windows (`window`), and the pages to choose
//! and create organisations, manage members and accept invitations (`routes`),
//! how the organisation wants findings graded (`settings`) and its logo
//! on the pages staff open without signing in (`logo`).
pub mod logo;
pub mod model;
pub mod routes;
pub mod settings;
pub mod sign_in_rules;
pub mod window;

pub use routes::routes;
