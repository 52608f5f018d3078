//! Gemba: the lean maintenance board. Work orders come in from CMMS exports and APIs through one
//! mapping engine, live in one store, and flow one way into metrics, the board and the CLI.
//!
//! Data flow: source -> [`mapping`] -> [`store`] -> metrics -> board / API / CLI.

pub mod a3;
pub mod actions;
pub mod assets;
pub mod config;
pub mod demo;
pub mod hoshin;
pub mod huddle;
pub mod import;
pub mod lsw;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod pull;
pub mod quality;
pub mod report;
pub mod safety;
pub mod schedule;
pub mod store;
pub mod sync;
pub mod system;
pub mod walks;
pub mod web;
