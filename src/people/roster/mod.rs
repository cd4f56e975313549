//! The top-management roster: who is top management, which account acts
//! for them, the changes waiting for a leader, and every decision (`model`),
//! and its page and CSV export (`routes`).
pub mod model;
pub mod routes;

pub use routes::routes;
