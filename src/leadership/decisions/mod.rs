//! Resource decisions (5.1(c)): what was asked for (budget, headcount,
//! tooling, time), why, and what top management decided.
pub mod model;
pub mod routes;

pub use model::*;
pub use routes::routes;
