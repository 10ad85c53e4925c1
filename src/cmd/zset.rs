//! The sorted set commands. (Rows and handlers arrive with the type.)

use crate::command::Command;

/// The sorted set group's table rows.
pub const COMMANDS: &[Command] = &[];
