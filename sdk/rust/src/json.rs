//! Read string and number fields of a JSON object, enough for renderers
//! whose data values are JSON documents such as
//! `{"title": "Hello", "body": "...", "views": 12}`.
//!
//! The whole document is validated (RFC 8259) while looking for the field,
//! so a malformed value is reported rather than half-read.

use std::fmt;

/// The document is not a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed JSON object")
    }
}

impl std::error::Error for Malformed {}

impl From<Malformed> for crate::Error {
    fn from(m: Malformed) -> Self {
        crate::Error::new(m.to_string())
    }
}

/// The string field `field` of the top-level object; `Ok(None)` when there
/// is no such field or it is not a string.
pub fn string(doc: &[u8], field: &str) -> Result<Option<String>, Malformed> {
    let at = match find(doc, field)? {
        Some(at) if doc[at] == b'"' => at,
        _ => return Ok(None),
    };
    let mut p = Parser { s: doc, pos: at, out: Some(Vec::new()) };
    p.string()?;
    Ok(Some(String::from_utf8_lossy(&p.out.unwrap_or_default()).into_owned()))
}

/// The number field `field` of the top-level object; `Ok(None)` when there
/// is no such field or it is not a number.
pub fn number(doc: &[u8], field: &str) -> Result<Option<f64>, Malformed> {
    let at = match find(doc, field)? {
        Some(at) if doc[at] == b'-' || doc[at].is_ascii_digit() => at,
        _ => return Ok(None),
    };
    let mut p = Parser { s: doc, pos: at, out: None };
    p.number()?;
    let text = std::str::from_utf8(&doc[at..p.pos]).map_err(|_| Malformed)?;
    Ok(text.parse().ok())
}

/// find validates the object and returns where the value of the first
/// member named `field` starts.
fn find(doc: &[u8], field: &str) -> Result<Option<usize>, Malformed> {
    let mut p = Parser { s: doc, pos: 0, out: None };
    let mut at = None;
    p.expect(b'{')?;
    if !p.eat(b'}') {
        loop {
            p.out = Some(Vec::new());
            p.string()?;
            let key = p.out.take().unwrap_or_default();
            p.expect(b':')?;
            p.ws();
            if at.is_none() && key == field.as_bytes() {
                at = Some(p.pos);
            }
            p.value(1)?;
            if !p.eat(b',') {
                break;
            }
        }
        p.expect(b'}')?;
    }
    p.ws();
    if p.pos != doc.len() {
        return Err(Malformed);
    }
    Ok(at)
}

const MAX_DEPTH: u32 = 64;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    out: Option<Vec<u8>>, // decoded string bytes, when wanted
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, c: u8) -> Result<(), Malformed> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn value(&mut self, depth: u32) -> Result<(), Malformed> {
        self.ws();
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        match self.peek().ok_or(Malformed)? {
            b'"' => self.string(),
            b'{' => self.items(b'}', true, depth + 1),
            b'[' => self.items(b']', false, depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn items(&mut self, close: u8, object: bool, depth: u32) -> Result<(), Malformed> {
        self.pos += 1;
        if self.eat(close) {
            return Ok(());
        }
        loop {
            if object {
                self.string()?;
                self.expect(b':')?;
            }
            self.value(depth)?;
            if !self.eat(b',') {
                return self.expect(close);
            }
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), Malformed> {
        if !self.s[self.pos..].starts_with(lit) {
            return Err(Malformed);
        }
        self.pos += lit.len();
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().map_or(false, |c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), Malformed> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let start = self.pos;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s[start] == b'0') {
            return Err(Malformed);
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Malformed);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Malformed);
            }
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), Malformed> {
        self.expect(b'"')?;
        loop {
            let c = self.peek().ok_or(Malformed)?;
            self.pos += 1;
            match c {
                b'"' => return Ok(()),
                0..=0x1f => return Err(Malformed),
                b'\\' => self.escape()?,
                c => self.emit(&[c]),
            }
        }
    }

    fn emit(&mut self, b: &[u8]) {
        if let Some(out) = &mut self.out {
            out.extend_from_slice(b);
        }
    }

    fn escape(&mut self) -> Result<(), Malformed> {
        let c = self.peek().ok_or(Malformed)?;
        self.pos += 1;
        let b = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode(),
            _ => return Err(Malformed),
        };
        self.emit(&[b]);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Malformed> {
        let h = self.s.get(self.pos..self.pos + 4).ok_or(Malformed)?;
        let h = std::str::from_utf8(h).map_err(|_| Malformed)?;
        let v = u32::from_str_radix(h, 16).map_err(|_| Malformed)?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Malformed);
        }
        self.pos += 4;
        Ok(v)
    }

    /// unicode decodes \uXXXX (after the 'u'), joining surrogate pairs; a
    /// lone surrogate becomes U+FFFD.
    fn unicode(&mut self) -> Result<(), Malformed> {
        let mut r = self.hex4()?;
        if (0xd800..0xdc00).contains(&r) && self.s[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xdc00..0xe000).contains(&lo) {
                r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
            } else {
                self.pos = save;
            }
        }
        let ch = char::from_u32(r).unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        self.emit(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let doc = br#" {"a": [1, {"title": "no"}], "title": "H\u00e9llo \ud83c\udf89 \"x\"", "n": -1.5e2, "t": true} "#;
        assert_eq!(string(doc, "title"), Ok(Some("Héllo 🎉 \"x\"".to_string())));
        assert_eq!(number(doc, "n"), Ok(Some(-150.0)));
        assert_eq!(string(doc, "n"), Ok(None));
        assert_eq!(string(doc, "missing"), Ok(None));
        assert_eq!(string(br#"{"title": "x",}"#, "title"), Err(Malformed));
        assert_eq!(string(br#"{"title": 01}"#, "title"), Err(Malformed));
        assert_eq!(string(b"[]", "title"), Err(Malformed));
        assert_eq!(string(b"{}", "title"), Ok(None));
    }
}
