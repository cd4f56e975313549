//! The one integration-test binary: a module per area.
// Tests set up and inspect data with SQL built at run time; the app itself
// may not (clippy.toml).
#![allow(clippy::disallowed_methods)]
mod access_matrix;
mod api;
mod api_conformance;
mod audit;
mod auditors;
mod auth;
mod browser;
mod bundles;
mod cli;
mod crash;
mod demo;
mod evidence;
mod findings;
mod faults;
mod gaps;
mod layout;
mod leadership;
mod mail;
mod notify;
mod offers;
mod orgs;
mod passkeys;
mod people;
mod policies;
mod process;
mod properties;
mod queries;
mod requirements;
mod roles;
mod roster;
mod s3;
mod scale_out;
mod training;
mod two_factor;
mod xss;
mod security;
mod signed;
mod slow_clients;
mod sso;
mod support;
