//! Quoting text inputs in messages: line numbers found in one pass, short escaped excerpts,
//! TOML errors that say where without echoing the file. An error never quotes more than a
//! short excerpt of what the user gave. Imports nothing of sweeplab.

/// Text from an input file or a flag, made safe to quote in a message: at most `max_chars`
/// characters (an ellipsis marks the cut), control characters and quotes escaped, in double
/// quotes.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// 1-based line numbers of byte offsets, after one pass over the text (a lookup per claim
/// of a 50,000-claim file must not rescan it).
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }
    /// The 1-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// A TOML error as "line N: what is wrong (near "…")": the parser's own message without its
/// echo of the source, and at most a short escaped excerpt of the offending line.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = Lines::new(text).line_of(span.start);
            let content = text.lines().nth(line - 1).unwrap_or("").trim();
            if content.is_empty() {
                format!("line {line}: {msg}")
            } else {
                format!("line {line}: {msg} (near {})", excerpt(content, 60))
            }
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("abc", 10), "\"abc\"");
        assert_eq!(excerpt("a\nb\"c", 10), "\"a\\nb\\\"c\"");
        assert_eq!(excerpt(&"x".repeat(100), 5), "\"xxxxx…\"");
        assert_eq!(excerpt("\u{0}PATH=/bin", 4), "\"\\u{0}PAT…\"");
    }

    #[test]
    fn line_numbers() {
        let l = Lines::new("a\nbb\n\nccc");
        assert_eq!(
            [0, 1, 2, 4, 5, 6, 7, 9].map(|o| l.line_of(o)),
            [1, 1, 2, 2, 3, 4, 4, 4]
        );
    }

    #[test]
    fn toml_errors_do_not_echo_the_file() {
        let secret = format!("key = {}", "s".repeat(500));
        let e = toml::from_str::<toml::Table>(&secret).unwrap_err();
        let m = toml_error(&secret, &e);
        assert!(m.starts_with("line 1: "), "{m}");
        assert!(m.len() < 200, "{m}");
    }
}
