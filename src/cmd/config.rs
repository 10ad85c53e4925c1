//! CONFIG GET, SET, REWRITE, RESETSTAT, HELP.

use crate::command::Command;

pub const COMMANDS: &[Command] = &[];
