//! Leadership communications (5.1(d), 5.2, A.5.4): when top management told
//! staff why security matters, through which channel, to whom and how many.
pub mod model;
pub mod routes;

pub use model::*;
pub use routes::routes;
