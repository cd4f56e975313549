//! Mandate: a multi-tenant compliance centre that shows whether an
//! organisation's leadership really leads its ISMS (ISO/IEC 27001:2022
//! clause 5 and Annex A 5.4).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod addenda;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod findings;
pub mod gaps;
pub mod generate;
pub mod health;
pub mod ids;
pub mod history;
pub mod home;
pub mod imports;
pub mod leadership;
pub mod mail;
pub mod notify;
pub mod orgs;
pub mod oscal;
pub mod people;
pub mod policies;
pub mod requests;
pub mod requirements;
pub mod roles;
pub mod security_log;
pub mod server;
pub mod sso;
pub mod state;
pub mod text_enum;
pub mod training;
pub mod web;
