//! Reading stdin line by line, shared by `tail` and `serve`.

use std::io::BufRead;

/// Reports a stdin line that was not sent: straight to stderr, so it shows whatever
/// `RUST_LOG` says (one clear stderr line per refused line).
pub fn skipped(number: u64, why: &str) {
    eprintln!("stdin line {number} skipped: {why}");
}

/// Reads stdin line by line; see [`read_lines`].
pub fn read_stdin_lines(max: usize, each: impl FnMut(u64, &str) -> bool) {
    read_lines(std::io::stdin().lock(), max, each);
}

/// Reads `input` line by line, handing each line (1-based number, text without its line break
/// and surrounding whitespace) to `each`. A line longer than `max` bytes is skipped as it is
/// read, never held whole; a line that is not UTF-8 is skipped; each gets a line on stderr.
/// Reading ends at EOF, on a read error, or when `each` returns false.
pub fn read_lines(mut input: impl BufRead, max: usize, mut each: impl FnMut(u64, &str) -> bool) {
    let mut buf = Vec::new();
    let mut too_long = false;
    let mut number = 0u64;
    loop {
        let (used, line_ends) = match input.fill_buf() {
            Ok([]) => {
                if too_long || !buf.is_empty() {
                    number += 1;
                    one_line(number, &buf, too_long, max, &mut each);
                }
                log::info!("stdin closed after {number} line(s); still running");
                return;
            }
            Ok(chunk) => {
                let (part, used, line_ends) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => (&chunk[..i], i + 1, true),
                    None => (chunk, chunk.len(), false),
                };
                if !too_long {
                    if buf.len() + part.len() > max {
                        too_long = true;
                        buf = Vec::new();
                    } else {
                        buf.extend_from_slice(part);
                    }
                }
                (used, line_ends)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!("cannot read stdin: {e}; still running");
                return;
            }
        };
        input.consume(used);
        if line_ends {
            number += 1;
            if !one_line(number, &buf, too_long, max, &mut each) {
                return;
            }
            buf.clear();
            too_long = false;
        }
    }
}

fn one_line(
    number: u64,
    buf: &[u8],
    too_long: bool,
    max: usize,
    each: &mut impl FnMut(u64, &str) -> bool,
) -> bool {
    if too_long {
        skipped(number, &format!("longer than {max} bytes"));
        return true;
    }
    let Ok(line) = std::str::from_utf8(buf) else {
        skipped(number, "not UTF-8");
        return true;
    };
    let line = line.trim();
    line.is_empty() || each(number, line)
}

#[cfg(test)]
mod tests {
    use super::read_lines;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut seen = Vec::new();
        // A tiny buffer so lines span many reads.
        let reader = std::io::BufReader::with_capacity(3, input);
        read_lines(reader, max, |n, l| {
            seen.push((n, l.to_string()));
            true
        });
        seen
    }

    #[test]
    fn lines_are_numbered_trimmed_and_the_last_needs_no_line_break() {
        assert_eq!(
            lines(b" a \n\nbb\r\nccc", 10),
            [(1, "a".into()), (3, "bb".into()), (4, "ccc".into())]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_and_the_next_one_still_read() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\n12345678\n123456789\nok");
        assert_eq!(lines(&input, 8), [(2, "12345678".into()), (4, "ok".into())]);
        // Also at EOF.
        assert_eq!(lines(b"ok\n123456789", 8), [(1, "ok".into())]);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_skipped() {
        assert_eq!(lines(b"\xff\xfe\nok\n", 8), [(2, "ok".into())]);
    }

    #[test]
    fn reading_stops_when_asked() {
        let mut seen = 0;
        read_lines(&b"a\nb\nc\n"[..], 8, |_, _| {
            seen += 1;
            seen < 2
        });
        assert_eq!(seen, 2);
    }
}
