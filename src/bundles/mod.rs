//! Evidence bundles: everything an auditor needs, as of a date, in one
//! verifiable ZIP. Requested in the browser (or `mandate export`), built by
//! a background job recorded in PostgreSQL, kept in the evidence store.
pub mod build;
pub mod index;
pub mod jobs;
pub mod manifest;
pub mod oscal;
pub mod requirement;
pub mod routes;
pub mod structure;
pub mod zip;

pub use routes::routes;
