//! Security objectives (5.1(a), 5.2(b)): what the organisation aims for,
//! how it is measured, who owns it, by when, and how it serves the strategy.
pub mod model;
pub mod routes;

pub use model::*;
pub use routes::routes;
