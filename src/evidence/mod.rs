//! The evidence vault: the register, items with their revisions and links,
//! streamed uploads and attachment-only downloads.
pub mod model;
pub mod routes;
pub mod sniff;
pub mod store;

pub use routes::{Failure, Upload, receive, routes};
