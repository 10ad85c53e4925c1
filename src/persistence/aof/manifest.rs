//! The multi-part AOF manifest of Redis 7.0: which base file and which incremental files, in
//! which order, make up the AOF (`appendonlydir/appendonly.aof.manifest`).
//!
//! One line per file: `file <name> seq <n> type <b|h|i>`, base first, then history, then the
//! incremental files in increasing sequence. Names with spaces or odd bytes are quoted the way
//! `sdssplitargs` reads them back. Parsing rejects what Redis rejects, with its messages (the
//! suite counts them in the log).

use crate::protocol::splitargs::split_args;

/// Longest line Redis accepts in a manifest.
const MAX_LINE: usize = 1024;

/// What a file of the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Base,
    Incr,
    /// A file replaced by a rewrite, waiting to be deleted.
    History,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::Incr => 'i',
            Kind::History => 'h',
        }
    }
}

/// One file of the AOF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub seq: i64,
    pub kind: Kind,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileInfo>,
    pub incr: Vec<FileInfo>,
    pub history: Vec<FileInfo>,
    /// Sequence of the current base (0 before the first).
    pub base_seq: i64,
    /// Sequence of the newest incremental file (0 before the first).
    pub incr_seq: i64,
}

/// Quotes a file name for the manifest when `sdssplitargs` would not read it back as is.
fn quote(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return name.to_string();
    }
    let mut s = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

impl Manifest {
    /// Returns the manifest's text, as Redis writes it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, f: &FileInfo| {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                quote(&f.name),
                f.seq,
                f.kind.letter()
            ))
        };
        if let Some(b) = &self.base {
            line(&mut out, b);
        }
        for f in &self.history {
            line(&mut out, f);
        }
        for f in &self.incr {
            line(&mut out, f);
        }
        out
    }

    /// Parses a manifest. The error is Redis's message for what is wrong.
    pub fn parse(text: &[u8]) -> Result<Manifest, &'static str> {
        let mut m = Manifest::default();
        if text.is_empty() {
            return Err("Found an empty AOF manifest");
        }
        let mut max_seq = 0i64;
        let mut rest = text;
        while !rest.is_empty() {
            let (raw, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            rest = if ended { &rest[raw.len() + 1..] } else { &[] };
            if raw.len() >= MAX_LINE {
                return Err("The AOF manifest file contains too long line");
            }
            if raw.first() == Some(&b'#') {
                continue;
            }
            if !ended {
                // A last line without its newline is one fgets() could not finish either.
                return Err("The AOF manifest file contains too long line");
            }
            let trimmed = trim(raw);
            if trimmed.is_empty() {
                return Err("Invalid AOF manifest file format");
            }
            let argv = match split_args(trimmed) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err("Invalid AOF manifest file format"),
            };
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in argv.chunks(2) {
                let key = pair[0].to_ascii_lowercase();
                match key.as_slice() {
                    b"file" => {
                        let n = String::from_utf8_lossy(&pair[1]).into_owned();
                        if n.contains('/') {
                            return Err("File can't be a path, just a filename");
                        }
                        name = Some(n);
                    }
                    b"seq" => seq = atoll(&pair[1]),
                    b"type" => kind = Some(pair[1].first().copied().unwrap_or(0)),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err("Invalid AOF manifest file format");
            };
            if seq == 0 {
                return Err("Invalid AOF manifest file format");
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information");
                    }
                    m.base_seq = seq;
                    m.base = Some(FileInfo {
                        name,
                        seq,
                        kind: Kind::Base,
                    });
                }
                b'h' => m.history.push(FileInfo {
                    name,
                    seq,
                    kind: Kind::History,
                }),
                b'i' => {
                    if seq <= max_seq {
                        return Err("Found a non-monotonic sequence number");
                    }
                    max_seq = seq;
                    m.incr_seq = seq;
                    m.incr.push(FileInfo {
                        name,
                        seq,
                        kind: Kind::Incr,
                    });
                }
                _ => return Err("Unknown AOF file type"),
            }
        }
        Ok(m)
    }

    /// Names the next base file (`<prefix>.<seq>.base.aof` or `.rdb`) and makes it the base,
    /// moving the old one to history.
    pub fn new_base(&mut self, prefix: &str, rdb: bool) -> String {
        self.base_seq += 1;
        let name = format!(
            "{prefix}.{}.base.{}",
            self.base_seq,
            if rdb { "rdb" } else { "aof" }
        );
        // History is kept newest first, as Redis lists it.
        if let Some(mut old) = self.base.take() {
            old.kind = Kind::History;
            self.history.insert(0, old);
        }
        self.base = Some(FileInfo {
            name: name.clone(),
            seq: self.base_seq,
            kind: Kind::Base,
        });
        name
    }

    /// Names the next incremental file and appends it.
    pub fn new_incr(&mut self, prefix: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{prefix}.{}.incr.aof", self.incr_seq);
        self.incr.push(FileInfo {
            name: name.clone(),
            seq: self.incr_seq,
            kind: Kind::Incr,
        });
        name
    }

    /// After a rewrite: every incremental file but the newest becomes history.
    pub fn retire_incr_but_last(&mut self) {
        self.retire_incr(self.incr.len().saturating_sub(1));
    }

    /// Moves the first `n` incremental files to the head of the history, in their order (the
    /// history is newest first, as Redis keeps it).
    pub fn retire_incr(&mut self, n: usize) {
        let n = n.min(self.incr.len());
        let old: Vec<FileInfo> = self
            .incr
            .drain(..n)
            .map(|mut f| {
                f.kind = Kind::History;
                f
            })
            .collect();
        self.history.splice(0..0, old);
    }
}

/// Trims spaces, tabs, CR and LF from both ends (Redis's `sdstrim(" \t\r\n")`).
fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |i| i + 1);
    &b[start..end]
}

/// C's `atoll`: leading digits after an optional sign, 0 when none.
fn atoll(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = digits
        .bytes()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |acc, c| {
            acc.wrapping_mul(10).wrapping_add((c - b'0') as i64)
        });
    if neg { -n } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::default();
        m.new_base("appendonly.aof", false);
        m.new_incr("appendonly.aof");
        let text = m.to_text();
        assert_eq!(
            text,
            "file appendonly.aof.1.base.aof seq 1 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn a_rewrite_moves_old_files_to_history() {
        let mut m = Manifest::default();
        m.new_base("a", false);
        m.new_incr("a");
        m.new_incr("a");
        m.new_base("a", true);
        m.retire_incr_but_last();
        // History newest first, as Redis writes it: the retired incremental files, then the
        // base they followed.
        assert_eq!(
            m.to_text(),
            "file a.2.base.rdb seq 2 type b\nfile a.1.incr.aof seq 1 type h\n\
             file a.1.base.aof seq 1 type h\nfile a.2.incr.aof seq 2 type i\n"
        );
        let back = Manifest::parse(m.to_text().as_bytes()).unwrap();
        assert_eq!(back.history.len(), 2);
        assert_eq!((back.base_seq, back.incr_seq), (2, 2));
        m.new_incr("a");
        m.new_base("a", true);
        m.retire_incr_but_last();
        assert_eq!(
            m.to_text(),
            "file a.3.base.rdb seq 3 type b\nfile a.2.incr.aof seq 2 type h\n\
             file a.2.base.rdb seq 2 type h\nfile a.1.incr.aof seq 1 type h\n\
             file a.1.base.aof seq 1 type h\nfile a.3.incr.aof seq 3 type i\n"
        );
    }

    #[test]
    fn names_with_spaces_are_quoted() {
        let mut m = Manifest::default();
        m.new_incr("my aof");
        assert_eq!(m.to_text(), "file \"my aof.1.incr.aof\" seq 1 type i\n");
        assert_eq!(
            Manifest::parse(m.to_text().as_bytes()).unwrap().incr[0].name,
            "my aof.1.incr.aof"
        );
    }

    #[test]
    fn bad_manifests_fail_with_redis_messages() {
        let bad: &[(&str, &str)] = &[
            ("", "Found an empty AOF manifest"),
            (
                "file a seq 1 type b\n\nfile b seq 1 type i\n",
                "Invalid AOF manifest file format",
            ),
            (
                "file a seq 1 type b\nfile b seq 2 type b\n",
                "Found duplicate base file information",
            ),
            ("file a seq 1 type x\n", "Unknown AOF file type"),
            ("file a seq 1\n", "Invalid AOF manifest file format"),
            ("file a seq 1 type\n", "Invalid AOF manifest file format"),
            ("filx a seq 1 type i\n", "Invalid AOF manifest file format"),
            (
                "file a seq 2 type i\nfile b seq 1 type i\n",
                "Found a non-monotonic sequence number",
            ),
            (
                "file a/b seq 1 type i\n",
                "File can't be a path, just a filename",
            ),
        ];
        for (text, err) in bad {
            assert_eq!(Manifest::parse(text.as_bytes()), Err(*err), "{text:?}");
        }
        let long = format!("file {} seq 1 type i\n", "a".repeat(1100));
        assert_eq!(
            Manifest::parse(long.as_bytes()),
            Err("The AOF manifest file contains too long line")
        );
        // Comments and extra pairs are allowed.
        let ok = Manifest::parse(b"# c\nfile a seq 1 type i extra x\n").unwrap();
        assert_eq!(ok.incr.len(), 1);
    }
}
