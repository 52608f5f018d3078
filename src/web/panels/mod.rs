//! The panels a board is made of, shared by its page and its TV pages: the action log, the pull
//! lanes, the safety cross and the board's leadership. Panels render plain data; they hold no routes.

pub mod actions;
pub mod hoshin;
pub mod improvement;
pub mod lanes;
pub mod leadership;
pub mod safety;
pub mod system;
