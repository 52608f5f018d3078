//! Integration tests: one binary (each file under tests/ would link all of polars again).
//! They run the real `gemba` binary in a temporary folder, or the library's public API.

mod a3;
mod actions;
mod assets;
mod auth;
mod browser;
mod cli_import;
mod demo;
mod fuzz_inputs;
mod hoshin;
mod http;
mod import_props;
mod instances;
mod lsw;
mod metrics_fixtures;
mod metrics_oracle;
mod mock_cmms;
mod pull;
mod quality;
mod safety;
mod schedules;
mod server;
mod support;
mod sync;
mod system;
mod walks;
mod workbooks;
