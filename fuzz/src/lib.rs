//! The fuzz targets' properties (see checks.rs).
pub mod checks;
