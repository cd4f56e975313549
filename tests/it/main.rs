//! The one integration-test binary: a module per area.
mod access_matrix;
mod audit;
mod auth;
mod browser;
mod cli;
mod crash;
mod demo;
mod evidence;
mod mail;
mod orgs;
mod people;
mod policies;
mod requirements;
mod roles;
mod s3;
mod security;
mod support;
