//! Evidence requests between auditors and the ISMS side: raised against a
//! requirement, answered with a note and linked evidence, closed or
//! reopened. Both sides see the status.
pub mod model;
pub mod routes;

pub use routes::routes;
