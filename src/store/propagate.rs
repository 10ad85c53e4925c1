//! What a command contributes to the AOF (and later to replicas), gathered while it runs.
//!
//! Redis 7.0 propagates a write command as its argument vector once it has run, if it changed
//! something, unless the command rewrote that vector (relative TTLs to absolute ones, SPOP to
//! SREM, a blocking pop to its plain form) or asked for extra commands; deletions of expired
//! keys found on the way are propagated at once, outside any MULTI/EXEC wrapping. This log is
//! where a command's view of the keyspace collects all of that, under the locks the command
//! holds, so that the order in the AOF is the order in which writes to the same key happened.
//!
//! It is plain bytes: the store knows nothing of RESP or of the AOF; the persistence module
//! encodes and writes what is here (see `persistence::aof::propagate`). When propagation is off
//! (no AOF, no replicas) nothing is ever pushed and the empty vectors allocate nothing.

/// One command to propagate: the database it runs in and its argument vector.
pub type Op = (usize, Vec<Vec<u8>>);

/// A command's propagation, gathered while it runs (see the module doc).
#[derive(Debug, Default)]
pub struct PropLog {
    /// Expired keys deleted on the way (database, key): propagated first, each on its own, as
    /// `DEL` (or `UNLINK` under `lazyfree-lazy-expire`).
    pub expired: Vec<(usize, Vec<u8>)>,
    /// Commands of the execution unit being run (a command and what it asked to propagate
    /// beside itself, or a whole transaction): wrapped in MULTI/EXEC when more than one.
    pub unit: Vec<Op>,
    /// Finished units, in order (a command, then the blocked clients it served, each its own).
    pub done: Vec<Vec<Op>>,
    /// What the running command propagates instead of its own argv: `Some(empty)` for nothing
    /// (the command propagated its effects itself), `Some(argv)` for a rewritten form.
    pub replaced: Option<Vec<Vec<u8>>>,
    /// The command propagates even if it changed nothing (FLUSHALL on an empty server, as
    /// Redis's `forceCommandPropagation`).
    pub forced: bool,
}

impl PropLog {
    /// True when nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty() && self.unit.is_empty() && self.done.is_empty()
    }

    /// Ends the running command: its own argv (or its replacement) joins the unit when it
    /// changed something (`dirty`).
    pub fn end_command(&mut self, db: usize, argv: &[&[u8]], dirty: bool) {
        let replaced = self.replaced.take();
        if !(dirty || std::mem::take(&mut self.forced)) {
            return;
        }
        match replaced {
            Some(r) if r.is_empty() => {}
            Some(r) => self.unit.push((db, r)),
            None => self
                .unit
                .push((db, argv.iter().map(|a| a.to_vec()).collect())),
        }
    }

    /// Closes the running execution unit.
    pub fn end_unit(&mut self) {
        if !self.unit.is_empty() {
            let unit = std::mem::take(&mut self.unit);
            self.done.push(unit);
        }
    }

    /// Propagates `argv` in `db` as an execution unit of its own (a blocked client served by
    /// another client's write).
    pub fn push_unit(&mut self, db: usize, argv: &[&[u8]]) {
        self.done
            .push(vec![(db, argv.iter().map(|a| a.to_vec()).collect())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_propagates_itself_only_when_dirty() {
        let mut p = PropLog::default();
        p.end_command(0, &[b"GET", b"k"], false);
        p.end_unit();
        assert!(p.is_empty());
        p.end_command(2, &[b"SET", b"k", b"v"], true);
        p.end_unit();
        assert_eq!(
            p.done,
            vec![vec![(
                2,
                vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]
            )]]
        );
    }

    #[test]
    fn a_replacement_wins_and_empty_means_nothing() {
        let mut p = PropLog::default();
        p.replaced = Some(vec![b"LPOP".to_vec(), b"l".to_vec()]);
        p.end_command(0, &[b"BLPOP", b"l", b"0"], true);
        assert_eq!(p.unit, vec![(0, vec![b"LPOP".to_vec(), b"l".to_vec()])]);
        // A rewrite of a command that changed nothing propagates nothing, unless forced.
        p.replaced = Some(vec![b"SET".to_vec()]);
        p.end_command(0, &[b"SET"], false);
        assert_eq!(p.unit.len(), 1);
        p.forced = true;
        p.end_command(0, &[b"FLUSHALL"], false);
        assert_eq!(p.unit.len(), 2);
        p.unit.pop();
        p.replaced = Some(vec![]);
        p.end_command(0, &[b"SPOP", b"s"], true);
        assert_eq!(p.unit.len(), 1);
        assert!(p.replaced.is_none());
    }

    #[test]
    fn units_stay_apart() {
        let mut p = PropLog::default();
        p.end_command(0, &[b"RPUSH", b"l", b"a"], true);
        p.end_unit();
        p.push_unit(0, &[b"LPOP", b"l"]);
        p.end_unit();
        assert_eq!(p.done.len(), 2);
    }
}
