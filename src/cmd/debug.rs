//! DEBUG and its subcommands that the test suite and the benchmarks use.

use crate::command::Command;

pub const COMMANDS: &[Command] = &[];
