// Read string and number fields of a JSON object, enough for renderers
// whose data values are JSON documents such as
// {"title": "Hello", "body": "...", "views": 12}. The whole document is
// validated (RFC 8259) while looking for the field.

const MAX_DEPTH = 64;

// The parser: bytes [pos, end), and an optional output buffer for the
// decoded bytes of the string being parsed.
let pos: usize = 0;
let end: usize = 0;
let out: usize = 0;
let outLen: usize = 0;
let decoding = false;

function peek(): i32 {
  return pos < end ? <i32>load<u8>(pos) : -1;
}

function ws(): void {
  while (pos < end) {
    let c = load<u8>(pos);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
    pos++;
  }
}

function eat(c: i32): bool {
  ws();
  if (peek() == c) {
    pos++;
    return true;
  }
  return false;
}

function emit(b: u8): void {
  if (decoding) store<u8>(out + outLen++, b);
}

function hex4(): i32 {
  if (end - pos < 4) return -1;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    let c = <i32>load<u8>(pos++);
    let d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

function emitRune(r: i32): void {
  if (r < 0x80) emit(<u8>r);
  else if (r < 0x800) {
    emit(<u8>(0xc0 | (r >> 6)));
    emit(<u8>(0x80 | (r & 0x3f)));
  } else if (r < 0x10000) {
    emit(<u8>(0xe0 | (r >> 12)));
    emit(<u8>(0x80 | ((r >> 6) & 0x3f)));
    emit(<u8>(0x80 | (r & 0x3f)));
  } else {
    emit(<u8>(0xf0 | (r >> 18)));
    emit(<u8>(0x80 | ((r >> 12) & 0x3f)));
    emit(<u8>(0x80 | ((r >> 6) & 0x3f)));
    emit(<u8>(0x80 | (r & 0x3f)));
  }
}

// unicode decodes \uXXXX (after the 'u'), joining surrogate pairs; a lone
// surrogate becomes U+FFFD.
function unicode(): bool {
  let r = hex4();
  if (r < 0) return false;
  if (r >= 0xd800 && r < 0xdc00 && end - pos >= 6 && load<u8>(pos) == 0x5c && load<u8>(pos + 1) == 0x75) {
    let save = pos;
    pos += 2;
    let lo = hex4();
    if (lo < 0) return false;
    if (lo >= 0xdc00 && lo < 0xe000) r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
    else pos = save;
  }
  if (r >= 0xd800 && r < 0xe000) r = 0xfffd;
  emitRune(r);
  return true;
}

function escape(): bool {
  let c = peek();
  pos++;
  switch (c) {
    case 0x22: case 0x5c: case 0x2f: emit(<u8>c); return true;
    case 0x62: emit(8); return true;
    case 0x66: emit(12); return true;
    case 0x6e: emit(10); return true;
    case 0x72: emit(13); return true;
    case 0x74: emit(9); return true;
    case 0x75: return unicode();
  }
  return false;
}

function str(): bool {
  if (!eat(0x22)) return false;
  while (pos < end) {
    let c = load<u8>(pos++);
    if (c == 0x22) return true;
    if (c < 0x20) return false;
    if (c != 0x5c) emit(c);
    else if (!escape()) return false;
  }
  return false;
}

function digits(): usize {
  let start = pos;
  while (pos < end && load<u8>(pos) >= 0x30 && load<u8>(pos) <= 0x39) pos++;
  return pos - start;
}

function num(): bool {
  if (peek() == 0x2d) pos++;
  let start = pos;
  let n = digits();
  if (n == 0 || (n > 1 && load<u8>(start) == 0x30)) return false;
  if (peek() == 0x2e) {
    pos++;
    if (digits() == 0) return false;
  }
  if (peek() == 0x65 || peek() == 0x45) {
    pos++;
    if (peek() == 0x2b || peek() == 0x2d) pos++;
    if (digits() == 0) return false;
  }
  return true;
}

function literal(lit: string): bool {
  let n = <usize>lit.length;
  if (end - pos < n) return false;
  for (let i: usize = 0; i < n; i++) {
    if (<i32>load<u8>(pos + i) != lit.charCodeAt(<i32>i)) return false;
  }
  pos += n;
  return true;
}

function value(depth: i32): bool {
  ws();
  if (depth > MAX_DEPTH) return false;
  switch (peek()) {
    case 0x22: return str();
    case 0x7b: return items(0x7d, true, depth + 1);
    case 0x5b: return items(0x5d, false, depth + 1);
    case 0x74: return literal("true");
    case 0x66: return literal("false");
    case 0x6e: return literal("null");
  }
  return num();
}

function items(close: i32, object: bool, depth: i32): bool {
  pos++;
  if (eat(close)) return true;
  do {
    if (object && !(str() && eat(0x3a))) return false;
    if (!value(depth)) return false;
  } while (eat(0x2c));
  return eat(close);
}

// find validates the object at doc and returns the offset of the first
// value of member `field`: -1 when there is none, -2 when malformed.
function find(doc: Uint8Array, field: string): isize {
  let key = String.UTF8.encode(field);
  let keyLen = <usize>key.byteLength;
  let scratch = heap.alloc(<usize>doc.length + 1);
  pos = doc.dataStart;
  end = pos + <usize>doc.length;
  let at: isize = -1;
  let ok = eat(0x7b);
  if (ok && !eat(0x7d)) {
    do {
      out = scratch;
      outLen = 0;
      decoding = true;
      ok = str() && eat(0x3a);
      decoding = false;
      ws();
      if (ok && at < 0 && outLen == keyLen && memory.compare(scratch, changetype<usize>(key), keyLen) == 0) {
        at = <isize>(pos - doc.dataStart);
      }
    } while (ok && (ok = value(1)) && eat(0x2c));
    ok = ok && eat(0x7d);
  }
  heap.free(scratch);
  ws();
  return ok && pos == end ? at : -2;
}

/**
 * The string field `field` of the JSON object doc, or null when there is
 * no such field, it is not a string, or doc is not a JSON object.
 */
export function jsonString(doc: Uint8Array, field: string): string | null {
  let at = find(doc, field);
  if (at < 0 || doc[<i32>at] != 0x22) return null;
  let buf = heap.alloc(<usize>doc.length + 1); // decoding never grows a string
  pos = doc.dataStart + <usize>at;
  end = doc.dataStart + <usize>doc.length;
  out = buf;
  outLen = 0;
  decoding = true;
  str();
  decoding = false;
  let s = String.UTF8.decodeUnsafe(buf, outLen);
  heap.free(buf);
  return s;
}

/**
 * The number field `field` of the JSON object doc, or NaN when there is no
 * such field, it is not a number, or doc is not a JSON object.
 */
export function jsonNumber(doc: Uint8Array, field: string): f64 {
  let at = find(doc, field);
  if (at < 0) return NaN;
  let c = doc[<i32>at];
  if (c != 0x2d && (c < 0x30 || c > 0x39)) return NaN;
  pos = doc.dataStart + <usize>at;
  end = doc.dataStart + <usize>doc.length;
  num();
  let text = String.UTF8.decodeUnsafe(doc.dataStart + <usize>at, pos - (doc.dataStart + <usize>at));
  return parseFloat(text);
}
