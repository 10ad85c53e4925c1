//! Redis's glob matcher (`stringmatchlen`), byte-wise: `*`, `?`, `[abc]`, `[^a-z]`, reversed
//! ranges, `\` escapes, and an optional case-insensitive mode. Used by KEYS, SCAN MATCH,
//! CONFIG GET, and later PSUBSCRIBE.
//!
//! It keeps Redis's cut-off for nested stars: once a `*` has tried every suffix of the string
//! and failed, no outer `*` can succeed by trying a longer match, so the search stops. Without
//! it, `a*a*a*...*b` takes exponential time (CVE-2022-36021).

fn lower(c: u8, nocase: bool) -> u8 {
    if nocase { c.to_ascii_lowercase() } else { c }
}

fn matches(pat: &[u8], s: &[u8], nocase: bool, give_up: &mut bool, depth: usize) -> bool {
    // Deep recursion on pathological patterns is bounded like Redis 7.0's fix does.
    if depth > 1000 {
        return false;
    }
    let (mut p, mut i) = (0usize, 0usize);
    let pat_at = |k: usize| -> u8 { pat.get(k).copied().unwrap_or(0) };
    while p < pat.len() && i < s.len() {
        match pat[p] {
            b'*' => {
                while p + 1 < pat.len() && pat[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return true;
                }
                while i < s.len() {
                    if matches(&pat[p + 1..], &s[i..], nocase, give_up, depth + 1) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    i += 1;
                }
                *give_up = true;
                return false;
            }
            b'?' => {
                i += 1;
            }
            b'[' => {
                p += 1;
                let negate = pat_at(p) == b'^';
                if negate {
                    p += 1;
                }
                let mut hit = false;
                loop {
                    let remaining = pat.len().saturating_sub(p);
                    if pat_at(p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if pat[p] == s[i] {
                            hit = true;
                        }
                    } else if pat_at(p) == b']' {
                        break;
                    } else if remaining == 0 {
                        // An unterminated class: step back so the common advance below ends
                        // at the pattern's end.
                        p -= 1;
                        break;
                    } else if remaining >= 3 && pat[p + 1] == b'-' {
                        let (mut start, mut end) = (pat[p], pat[p + 2]);
                        let mut c = s[i];
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = start.to_ascii_lowercase();
                            end = end.to_ascii_lowercase();
                            c = c.to_ascii_lowercase();
                        }
                        p += 2;
                        if c >= start && c <= end {
                            hit = true;
                        }
                    } else if lower(pat[p], nocase) == lower(s[i], nocase) {
                        hit = true;
                    }
                    p += 1;
                }
                if negate {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                i += 1;
            }
            c => {
                let c = if c == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pat[p]
                } else {
                    c
                };
                if lower(c, nocase) != lower(s[i], nocase) {
                    return false;
                }
                i += 1;
            }
        }
        p += 1;
        if i == s.len() {
            while p < pat.len() && pat[p] == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && i == s.len()
}

/// Returns true when `s` matches the glob `pattern`.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    matches(pattern, s, nocase, &mut give_up, 0)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn basics() {
        assert!(glob_match(b"*", b"anything", false));
        // As in Redis, an empty string matches no pattern but the empty one; KEYS and SCAN
        // special-case a lone `*` before calling the matcher.
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(!glob_match(b"h?llo", b"hllo", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[ae]llo", b"hillo", false));
        assert!(glob_match(b"h[^e]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h[b-a]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(glob_match(b"MAXMEMORY*", b"maxmemory-policy", true));
        assert!(!glob_match(b"MAXMEMORY*", b"maxmemory-policy", false));
        assert!(glob_match(b"a*", b"a", false));
        assert!(glob_match(b"[abc", b"a", false));
        assert!(!glob_match(b"", b"a", false));
        assert!(glob_match(b"", b"", false));
    }

    #[test]
    fn pathological_pattern_returns_quickly() {
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let s = vec![b'a'; 100];
        // Without the cut-off this call would not return in any reasonable time.
        assert!(!glob_match(pat, &s, false));
    }
}
