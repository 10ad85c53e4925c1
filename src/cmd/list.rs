//! The list commands. (Rows and handlers arrive with the type.)

use crate::command::Command;

/// The list group's table rows.
pub const COMMANDS: &[Command] = &[];
