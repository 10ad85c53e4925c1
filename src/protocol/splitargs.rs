//! The argument tokenizer shared by inline requests, redis.conf lines and CONFIG SET values.
//!
//! Same rules as Redis's `sdssplitargs`: whitespace separates tokens; `"double quotes"` take
//! `\xHH`, `\n \r \t \b \a` and `\<any>` escapes; `'single quotes'` take only `\'`; a closing
//! quote must be followed by whitespace or the end; a quote may open mid-token. A NUL byte ends
//! the input, as it does for the C string Redis scans.

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` into arguments; returns `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Reading past the end yields 0, standing for the C string's terminator.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut args = Vec::new();
    let mut p = 0usize;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(args);
        }
        let mut cur = Vec::new();
        let (mut in_dq, mut in_sq, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        cur.push(h * 16 + l);
                        p += 3;
                    } else {
                        cur.push(b'x');
                        p += 1;
                    }
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => cur.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn s(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes())
            .map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(s("set a b"), Some(vec!["set".into(), "a".into(), "b".into()]));
        assert_eq!(s("  a\t b  "), Some(vec!["a".into(), "b".into()]));
        assert_eq!(s(""), Some(vec![]));
        assert_eq!(s("\"a\\x41\\n\""), Some(vec!["aA\n".into()]));
        assert_eq!(s("'a\\'b'"), Some(vec!["a'b".into()]));
        assert_eq!(s("'a\\nb'"), Some(vec!["a\\nb".into()]));
        assert_eq!(s("foo\"bar baz\""), Some(vec!["foobar baz".into()]));
        assert_eq!(s("\"\""), Some(vec!["".into()]));
        assert_eq!(s("\"\\xZZ\""), Some(vec!["xZZ".into()]));
    }

    #[test]
    fn unbalanced() {
        assert_eq!(s("\"a\"b"), None);
        assert_eq!(s("\"abc"), None);
        assert_eq!(s("'abc"), None);
        assert_eq!(s("'a'b"), None);
        assert_eq!(s("set \"\"\"test-key\"\"\" v"), None);
    }
}
