//! Management reviews and other leadership meetings, with their action
//! items. The chair signs the minutes off; from then on the meeting record
//! is final (the database refuses changes too) and follow-up goes into
//! action items.
pub mod model;
pub mod routes;

pub use model::*;
pub use routes::routes;
