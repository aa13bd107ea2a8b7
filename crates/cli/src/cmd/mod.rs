//! The commands, one module per group (as mini-redis has them); `main.rs::run` dispatches.

pub(crate) mod notify;
pub(crate) mod queue;
pub(crate) mod shows;
pub(crate) mod sim;
