//! Generic key commands and expiry.

use crate::command::Command;

pub const COMMANDS: &[Command] = &[];
