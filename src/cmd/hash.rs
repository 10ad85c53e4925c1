//! The hash commands. (Rows and handlers arrive with the type.)

use crate::command::Command;

/// The hash group's table rows.
pub const COMMANDS: &[Command] = &[];
