//! The set commands. (Rows and handlers arrive with the type.)

use crate::command::Command;

/// The set group's table rows.
pub const COMMANDS: &[Command] = &[];
