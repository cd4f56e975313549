//! Leadership asks: what the ISMS lead asked of top management, by when,
//! and the answer (or the silence). Executives answer their own asks.
pub mod model;
pub mod routes;

pub use model::*;
pub use routes::routes;
