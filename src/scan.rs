//! The top-level keys of a JSON object, found in one allocation-free pass that stops as soon as
//! the caller has what it needs (an I/O-free rule, shared by the RTM and Socket Mode readers and
//! the RTM dispatcher).
//!
//! Slack does not put `type` first: a typed message starts with `client_msg_id`, a Socket Mode
//! envelope with `envelope_id` and its `payload`. [`scan`] walks the object's top level in
//! order, skipping every nested object, array and string without looking inside (eight bytes at
//! a time through string bodies), and hands back the values of the keys asked for as they are
//! written ([`Raw`]): nothing is decoded, copied or allocated.
//!
//! What it promises, checked against `serde_json` by a unit test over generated objects and by
//! the `scan_agrees` fuzz target:
//! - on a JSON text whose object holds each asked-for key at most once, every value it reports
//!   is the one a full parse gives that key, and a key it reports absent is absent;
//! - a key written with escapes (`"typ\u0065"`) is unescaped before it is compared, and a string
//!   value with escapes says so ([`Raw::as_str`] unescapes it; only that allocates);
//! - it answers `None` ("parse it in full") for a text that is not an object, a top level it
//!   cannot read, or an asked-for key given twice before it stopped;
//! - it is not a validator: on a text that is not JSON it may answer from the part it read.

use std::borrow::Cow;

/// A value as written in the text, not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Raw<'a> {
    /// A string, quotes included; `escaped` when it holds a backslash escape.
    Str { quoted: &'a str, escaped: bool },
    /// A number, as written.
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object, braces included (its inside is not checked).
    Object(&'a str),
    /// An array, brackets included (its inside is not checked).
    Array(&'a str),
}

impl<'a> Raw<'a> {
    /// The value's text as written (a string with its quotes).
    pub(crate) fn text(&self) -> &'a str {
        match *self {
            Raw::Str { quoted, .. } => quoted,
            Raw::Number(t) | Raw::Object(t) | Raw::Array(t) => t,
            Raw::Bool(true) => "true",
            Raw::Bool(false) => "false",
            Raw::Null => "null",
        }
    }

    /// A string with no escapes, as written: what a cheap comparison needs. `None` for any
    /// other value, and for a string with escapes (use [`as_str`](Raw::as_str)).
    pub(crate) fn plain_str(&self) -> Option<&'a str> {
        match *self {
            Raw::Str {
                quoted,
                escaped: false,
            } => quoted.get(1..quoted.len().saturating_sub(1)),
            _ => None,
        }
    }

    /// A string, unescaped (allocating only when it holds escapes); `None` when the value is
    /// not a string or an escape is invalid.
    pub(crate) fn as_str(&self) -> Option<Cow<'a, str>> {
        match *self {
            Raw::Str { escaped: false, .. } => self.plain_str().map(Cow::Borrowed),
            Raw::Str { quoted, .. } => serde_json::from_str::<String>(quoted).ok().map(Cow::Owned),
            _ => None,
        }
    }

    /// A non-negative integer that fits a `u64`, exactly as `serde_json::Value::as_u64` reads
    /// the same text (`7` is one; `-0`, `7.0` and `1e2` are not).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match *self {
            Raw::Number(t) => serde_json::from_str::<u64>(t).ok(),
            _ => None,
        }
    }

    /// A boolean.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match *self {
            Raw::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A string, whatever its escapes (no decoding needed to know that).
    pub(crate) fn is_str(&self) -> bool {
        matches!(self, Raw::Str { .. })
    }

    /// A string equal to `want` once unescaped (allocates only for a string with escapes).
    pub(crate) fn is_str_eq(&self, want: &str) -> bool {
        match self.plain_str() {
            Some(s) => s == want,
            None => self.as_str().is_some_and(|s| s == want),
        }
    }
}

/// Finds `keys` at the top level of the JSON object `text`. After each key found, `done` is
/// asked whether the caller has what it needs; the scan stops there (keys after that point are
/// not looked at). `None`: parse the text in full (see the [module docs](self)).
pub(crate) fn scan<'a, const N: usize>(
    text: &'a str,
    keys: &[&str; N],
    done: impl Fn(&[Option<Raw<'a>>; N]) -> bool,
) -> Option<[Option<Raw<'a>>; N]> {
    let b = text.as_bytes();
    let mut found = [None; N];
    let mut i = blank(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = blank(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return (blank(b, i + 1) == b.len()).then_some(found);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, key_escaped) = string_end(b, i + 1)?;
        let slot = slot(text.get(i + 1..key_end)?, key_escaped, keys)?;
        i = blank(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = blank(b, i + 1);
        let (raw, end) = value(text, i)?;
        if let Some(k) = slot {
            let place = found.get_mut(k)?;
            if place.is_some() {
                return None;
            }
            *place = Some(raw);
            if done(&found) {
                return Some(found);
            }
        }
        i = blank(b, end);
        match b.get(i) {
            Some(b',') => i = blank(b, i + 1),
            Some(b'}') => return (blank(b, i + 1) == b.len()).then_some(found),
            _ => return None,
        }
    }
}

/// The index in `keys` of a key (its text between the quotes); `Some(None)` when it is none of
/// them, `None` when its escapes are invalid.
fn slot(key: &str, escaped: bool, keys: &[&str]) -> Option<Option<usize>> {
    if !escaped {
        return Some(keys.iter().position(|k| *k == key));
    }
    // The keys asked for are short and ASCII: unescape into a small buffer, and a key that does
    // not fit (or is not ASCII once unescaped) is none of them.
    let mut buf = [0u8; 32];
    let mut len = 0;
    let mut ascii = true;
    let k = key.as_bytes();
    let mut i = 0;
    while i < k.len() {
        let mut c = k[i];
        i += 1;
        if c == b'\\' {
            let e = *k.get(i)?;
            i += 1;
            c = match e {
                b'"' | b'\\' | b'/' => e,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let hex = std::str::from_utf8(k.get(i..i + 4)?).ok()?;
                    let code = u16::from_str_radix(hex, 16).ok()?;
                    if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                        return None;
                    }
                    i += 4;
                    match u8::try_from(code) {
                        Ok(c) if c.is_ascii() => c,
                        // Not ASCII (a surrogate pair's halves included): not one of the keys.
                        _ => {
                            ascii = false;
                            0
                        }
                    }
                }
                _ => return None,
            };
        }
        match buf.get_mut(len) {
            Some(slot) => *slot = c,
            None => ascii = false,
        }
        len += 1;
    }
    if !ascii {
        return Some(None);
    }
    let unescaped = buf.get(..len)?;
    Some(keys.iter().position(|k| k.as_bytes() == unescaped))
}

/// The value starting at `i` and the index just after it.
fn value(text: &str, i: usize) -> Option<(Raw<'_>, usize)> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => {
            let (end, escaped) = string_end(b, i + 1)?;
            let quoted = text.get(i..end + 1)?;
            Some((Raw::Str { quoted, escaped }, end + 1))
        }
        open @ (b'{' | b'[') => {
            let end = container_end(b, i)?;
            let t = text.get(i..end)?;
            let raw = if open == b'{' {
                Raw::Object(t)
            } else {
                Raw::Array(t)
            };
            Some((raw, end))
        }
        _ => {
            let mut end = i;
            while let Some(&c) = b.get(end) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                end += 1;
            }
            let raw = match text.get(i..end)? {
                "true" => Raw::Bool(true),
                "false" => Raw::Bool(false),
                "null" => Raw::Null,
                t if t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => Raw::Number(t),
                _ => return None,
            };
            Some((raw, end))
        }
    }
}

/// The index after the object or array opening at `i`, skipping strings (brackets inside them
/// do not count).
fn container_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => {
                i = string_end(b, i + 1)?.0;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The index of the quote closing the string whose body starts at `i`, and whether the body
/// holds an escape.
fn string_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` equal to `c`: its high bit set in the result, exactly for the lowest one.
    let hits = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut escaped = false;
    loop {
        // Eight bytes at a time while they hold no quote and no backslash.
        while let Some(chunk) = b.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let m = hits(w, b'"') | hits(w, b'\\');
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i)? {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn blank(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Fuzzing and test oracle: scans `text` for a fixed set of keys, to the end and stopping at the
/// first, and checks every answer against `serde_json`'s parse of the same text. `Err` says how
/// they disagree.
pub(crate) fn check_against_serde(text: &str) -> Result<(), String> {
    use serde_json::Value;
    const KEYS: [&str; 6] = [
        "type",
        "reply_to",
        "envelope_id",
        "subtype",
        "payload",
        "a\"b",
    ];
    let full = scan(text, &KEYS, |_| false);
    let first = scan(text, &KEYS, |f| f.iter().any(Option::is_some));
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        // Not a JSON object: the scan may answer anything, but must not panic (it did not).
        return Ok(());
    };
    let dupes = duplicate_keys(text);
    let asked_twice = KEYS.iter().any(|k| dupes.iter().any(|d| d == k));
    let Some(full) = full else {
        return if asked_twice {
            Ok(())
        } else {
            Err(format!("a JSON object, but the scan gave up on {text:?}"))
        };
    };
    if asked_twice {
        return Err(format!(
            "an asked-for key given twice was not reported in {text:?}"
        ));
    }
    for (k, got) in KEYS.iter().zip(full.iter()) {
        let want = map.get(*k);
        let same = match (got, want) {
            (None, None) => true,
            (Some(raw), Some(want)) => agrees(raw, want),
            _ => false,
        };
        if !same {
            return Err(format!("{k}: scan {got:?}, parse {want:?} in {text:?}"));
        }
    }
    // Stopping at the first key found reports that key, the same as the full scan.
    let first = first.ok_or_else(|| format!("the stopping scan gave up on {text:?}"))?;
    let hit = first.iter().position(Option::is_some);
    if let Some(h) = hit {
        if first[h] != full[h] || first.iter().filter(|f| f.is_some()).count() != 1 {
            return Err(format!("the stopping scan disagrees on {text:?}"));
        }
    } else if full.iter().any(Option::is_some) {
        return Err(format!("the stopping scan missed a key in {text:?}"));
    }
    Ok(())
}

/// One value as the scan reported it against the parsed one.
fn agrees(raw: &Raw<'_>, want: &serde_json::Value) -> bool {
    let reparsed = serde_json::from_str::<serde_json::Value>(raw.text()).ok();
    reparsed.as_ref() == Some(want)
        && raw.as_str().as_deref() == want.as_str()
        && raw.as_u64() == want.as_u64()
        && raw.as_bool() == want.as_bool()
        && raw.is_str() == want.is_string()
        && raw.plain_str().is_none_or(|s| Some(s) == want.as_str())
        && want.as_str().is_none_or(|s| raw.is_str_eq(s))
}

/// The top-level keys of a JSON object given more than once (unescaped), by serde itself.
fn duplicate_keys(text: &str) -> Vec<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut seen: Vec<String> = Vec::new();
            let mut twice = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if seen.contains(&k) {
                    twice.push(k);
                } else {
                    seen.push(k);
                }
            }
            Ok(twice)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Keys).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 3] = ["type", "reply_to", "subtype"];

    fn all(text: &str) -> Option<[Option<Raw<'_>>; 3]> {
        scan(text, &KEYS, |_| false)
    }

    /// Stops at a string `type`, as the RTM dispatcher does.
    fn to_type(text: &str) -> Option<[Option<Raw<'_>>; 3]> {
        scan(text, &KEYS, |f| f[0].is_some_and(|t| t.is_str()))
    }

    fn kind(text: &str) -> Option<String> {
        to_type(text)?[0]?.as_str().map(Cow::into_owned)
    }

    #[test]
    fn finds_type_wherever_slack_puts_it() {
        let table: &[(&str, Option<&str>)] = &[
            (r#"{"type":"hello"}"#, Some("hello")),
            (
                r#"{"client_msg_id":"3f6b9e2d-7a1c","suppress_notification":false,"type":"message","text":"hi","user":"U1","blocks":[{"type":"rich_text"}]}"#,
                Some("message"),
            ),
            // `type` after the blocks, whose own `type`s are nested and never match.
            (
                r#"{"client_msg_id":"x","blocks":[{"type":"rich_text","elements":[{"type":"text","text":"a"}]}],"user":"U1","type":"message"}"#,
                Some("message"),
            ),
            // An events_api envelope: `payload` (with its `type` and the event's) comes first.
            (
                r#"{"envelope_id":"e1","payload":{"type":"event_callback","event":{"type":"message"}},"type":"events_api","accepts_response_payload":false}"#,
                Some("events_api"),
            ),
            // Strings holding `"type":`, braces and escaped quotes are skipped whole.
            (
                r#"{"text":"say \"type\":\"x\" {[","type":"message"}"#,
                Some("message"),
            ),
            (r#"{"text":"\\","type":"a"}"#, Some("a")),
            (
                r#"{"text":"ends in a backslash \\\\","type":"b"}"#,
                Some("b"),
            ),
            // An escaped key is the same key; an escaped value is unescaped.
            (r#"{"typ\u0065":"reaction_added"}"#, Some("reaction_added")),
            (r#"{"type":"say \"hi\""}"#, Some("say \"hi\"")),
            (r#"{"type":"\u0068ello"}"#, Some("hello")),
            // Other keys that only look like `type`.
            (
                r#"{"Type":"x","type_":"y","\u0074ype2":"z","ty\"pe":"w"}"#,
                None,
            ),
            (r#"{"subtype":"bot_message","text":"x"}"#, None),
            (" \n{ \"type\" :\t\"spaced\" } \n", Some("spaced")),
            (
                r#"{"n":-1.5e3,"t":true,"f":false,"z":null,"type":"after_scalars"}"#,
                Some("after_scalars"),
            ),
            (
                r#"{"a":[],"b":{},"c":[[{}]],"type":"after_empties"}"#,
                Some("after_empties"),
            ),
            // Long strings cross the eight-byte steps.
            (
                r#"{"text":"0123456789abcdef0123456789abcdef\"0123456789","type":"long"}"#,
                Some("long"),
            ),
            (
                r#"{"text":"é ünïcödé 🎉 \ud83c\udf89","type":"unicode"}"#,
                Some("unicode"),
            ),
            (r#"{}"#, None),
        ];
        for (text, want) in table {
            assert_eq!(kind(text).as_deref(), *want, "{text}");
            check_against_serde(text).unwrap();
        }
    }

    #[test]
    fn values_are_reported_as_written() {
        let f = all(r#"{"reply_to":7,"ok":true,"subtype":null}"#).unwrap();
        assert_eq!(f[0], None);
        assert_eq!(f[1].and_then(|r| r.as_u64()), Some(7));
        assert_eq!(f[2], Some(Raw::Null));
        let f = all(r#"{"type":5,"reply_to":"7"}"#).unwrap();
        assert_eq!(f[0], Some(Raw::Number("5")));
        assert!(!f[0].unwrap().is_str());
        assert_eq!(f[1].unwrap().as_u64(), None);
        for (n, want) in [
            ("7", Some(7)),
            ("-0", None),
            ("7.0", None),
            ("1e2", None),
            ("-3", None),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
        ] {
            let text = format!(r#"{{"reply_to":{n}}}"#);
            let got = all(&text).unwrap()[1].unwrap();
            assert_eq!(got.as_u64(), want, "{n}");
            check_against_serde(&text).unwrap();
        }
        let f = all(r#"{"type":{"type":"nested"},"subtype":["type"]}"#).unwrap();
        assert_eq!(f[0], Some(Raw::Object(r#"{"type":"nested"}"#)));
        assert_eq!(f[2], Some(Raw::Array(r#"["type"]"#)));
        let f = all(r#"{"type":"a\/b"}"#).unwrap();
        assert_eq!(f[0].unwrap().plain_str(), None);
        assert!(f[0].unwrap().is_str_eq("a/b"));
    }

    #[test]
    fn stops_as_soon_as_it_has_what_it_needs() {
        // Everything after a string `type` is left unread, even if it is not JSON.
        let f = to_type(r#"{"client_msg_id":"x","type":"message","text": <not read>"#).unwrap();
        assert_eq!(f[0].unwrap().plain_str(), Some("message"));
        assert_eq!(f[1], None);
        // A `type` that is not a string does not stop it: `reply_to` is looked for too.
        let f = to_type(r#"{"type":null,"ok":true,"reply_to":3}"#).unwrap();
        assert_eq!((f[0], f[1].unwrap().as_u64()), (Some(Raw::Null), Some(3)));
    }

    #[test]
    fn gives_up_where_a_full_parse_must_decide() {
        for text in [
            "",
            "[1]",
            r#""type""#,
            "null",
            r#"{"type""#,
            r#"{"type":"open"#,
            r#"{"type":}"#,
            r#"{"a":1,}"#,
            r#"{"a":1 "type":"x"}"#,
            r#"{type:"x"}"#,
            r#"{"a":nope,"type":"x"}"#,
            r#"{"a":[1,2,"type":"x"}"#,
            r#"{"typ\q":"x"}"#,
            r#"{"typ\u00zz":"x"}"#,
            // An asked-for key given twice before the scan stopped.
            r#"{"reply_to":1,"reply_to":2}"#,
            r#"{"typ\u0065":5,"type":"x"}"#,
        ] {
            assert!(to_type(text).is_none(), "{text}");
            check_against_serde(text).unwrap();
        }
        // Text after the top level's end is not JSON.
        assert!(all(r#"{} {}"#).is_none());
        assert!(all(r#"{"type":"x"} trailing"#).is_none());
        assert!(all(" {} \n").is_some());
    }

    #[test]
    fn escaped_keys_that_are_not_ascii_or_long_are_other_keys() {
        let long = format!(r#"{{"{}\u0074":1,"type":"x"}}"#, "k".repeat(40));
        assert_eq!(kind(&long).as_deref(), Some("x"));
        assert_eq!(
            kind(r#"{"t\u00ffpe":"no","type":"yes"}"#).as_deref(),
            Some("yes")
        );
        assert_eq!(
            kind(r#"{"\ud83c\udf89":"no","type":"yes"}"#).as_deref(),
            Some("yes")
        );
        assert_eq!(
            kind(r#"{"\"type\"":"no","type":"yes"}"#).as_deref(),
            Some("yes")
        );
    }

    /// A small deterministic generator (xorshift), so the suite needs no fuzzer.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }

        fn ws(&mut self) -> &'static str {
            self.pick(&["", "", "", " ", "\n", " \t\r\n "])
        }

        fn key(&mut self) -> String {
            self.pick(&[
                r#""type""#,
                r#""reply_to""#,
                r#""envelope_id""#,
                r#""subtype""#,
                r#""payload""#,
                r#""a\"b""#,
                r#""typ\u0065""#,
                r#""\u0074\u0079\u0070\u0065""#,
                r#""reply\u005fto""#,
                r#""client_msg_id""#,
                r#""text""#,
                r#""blocks""#,
                r#""Type""#,
                r#""type ""#,
                r#""t\u00ffpe""#,
                r#""""#,
            ])
            .to_string()
        }

        fn value(&mut self, depth: usize) -> String {
            let choice = if depth > 3 {
                self.below(6)
            } else {
                self.below(9)
            };
            match choice {
                0 => self
                    .pick(&[
                        r#""message""#,
                        r#""""#,
                        r#""say \"type\":\"x\"""#,
                        r#""\u0068ello""#,
                        r#""a\\""#,
                        r#""{[\"]}""#,
                        r#""0123456789abcdefghij\"klmnop""#,
                        r#""é🎉\ud83c\udf89""#,
                        r#""\/\b\f\n\r\t""#,
                    ])
                    .to_string(),
                1 => self
                    .pick(&[
                        "0",
                        "7",
                        "-0",
                        "-3",
                        "1.5",
                        "7.0",
                        "1e2",
                        "-2.5E-3",
                        "18446744073709551615",
                        "18446744073709551616",
                    ])
                    .to_string(),
                2 => self.pick(&["true", "false"]).to_string(),
                3 => "null".to_string(),
                4 => "[]".to_string(),
                5 => "{}".to_string(),
                6 | 7 => self.object(depth + 1),
                _ => {
                    let n = self.below(4);
                    let items: Vec<String> = (0..n).map(|_| self.value(depth + 1)).collect();
                    format!("[{}{}]", self.ws(), items.join(","))
                }
            }
        }

        fn object(&mut self, depth: usize) -> String {
            let n = self.below(6);
            let mut out = String::from("{");
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                let (w1, w2, w3) = (self.ws(), self.ws(), self.ws());
                let (k, v) = (self.key(), self.value(depth));
                out.push_str(&format!("{w1}{k}{w2}:{w3}{v}"));
            }
            out.push_str(self.ws());
            out.push('}');
            out
        }
    }

    #[test]
    fn agrees_with_serde_json_on_generated_objects() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let text = format!("{}{}{}", g.ws(), g.object(0), g.ws());
            check_against_serde(&text).unwrap();
            // Damaged copies: a prefix, and one byte replaced by a structural one.
            let cut = g.below(text.len() + 1);
            if let Some(prefix) = text.get(..cut) {
                check_against_serde(prefix).unwrap();
            }
            let at = g.below(text.len());
            if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                let with = g.pick(&["\"", "\\", "{", "}", "[", "]", ",", ":", "x"]);
                let mut damaged = text.clone();
                damaged.replace_range(at..at + 1, with);
                check_against_serde(&damaged).unwrap();
            }
        }
    }

    #[test]
    fn agrees_with_serde_json_on_slack_shaped_frames() {
        let frames = [
            r#"{"client_msg_id":"3f6b9e2d-7a1c-4d8e-b5f0-2c4a6e8d0b1f","suppress_notification":false,"type":"message","text":"Deploy <https://x|done>","user":"U0BENCH001","team":"T0FAKE0001","blocks":[{"type":"rich_text","block_id":"Xk9","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Deploy "}]}]}],"user_team":"T0FAKE0001","source_team":"T0FAKE0001","channel":"C0BENCH001","event_ts":"1700000000.000200","ts":"1700000000.000200"}"#,
            r#"{"ok":true,"reply_to":12,"ts":"1700000000.000300","text":"hi"}"#,
            r#"{"envelope_id":"5e1a","payload":{"token":"t","team_id":"T1","event":{"client_msg_id":"c","type":"message","text":"x"},"type":"event_callback","event_id":"Ev1","event_time":1},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}"#,
        ];
        for frame in frames {
            for cut in 0..=frame.len() {
                if let Some(prefix) = frame.get(..cut) {
                    check_against_serde(prefix).unwrap();
                }
            }
        }
    }
}
