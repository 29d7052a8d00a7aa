// Write Kiln page renderers in AssemblyScript (Kiln renderer ABI v1,
// sdk/ABI.md). See README.md for the build flags a renderer needs.

// ---- the ABI: host imports ----

@external("kiln", "request") declare function hostRequest(ptr: usize): void;
@external("kiln", "response") declare function hostResponse(ptr: usize, len: i32): void;
@external("kiln", "fail") declare function hostFail(ptr: usize, len: i32): void;
@external("kiln", "data_get") declare function hostDataGet(key: usize, len: i32): i32;
@external("kiln", "data_list")
declare function hostDataList(prefix: usize, prefixLen: i32, cursor: usize, cursorLen: i32, limit: i32, reverse: i32): i32;
// Optional in the ABI: asc leaves it out of a module that never calls
// getMany, so such a module loads on older engines.
@external("kiln", "data_get_many") declare function hostDataGetMany(keys: usize, len: i32): i32;
@external("kiln", "result") declare function hostResult(ptr: usize): void;
@external("kiln", "log") declare function hostLog(level: i32, ptr: usize, len: i32): void;

// Per-render state, declared first: abort() may run before later globals.
let failed = false; // fail() was called
let dataUnavailable = false; // a data call answered "unavailable"

/** The ABI version marker. Re-export it from your entry file; it is never called. */
export function kiln_abi_version_1(): void {}

// ---- request ----

/** Why a page is being rendered. */
export enum Mode {
  /** Prerendering during `kiln build`. */
  Build = 0,
  /** Stale-while-revalidate or data-change regeneration. */
  Background = 1,
  /** A visitor is waiting for this render. */
  Blocking = 2,
  /** A preview request: rendered fresh, never stored. */
  Preview = 3,
}

/** A route parameter. */
export class Param {
  constructor(public name: string, public value: string) {}
}

/** A page request. */
export class Request {
  /** Why the page is rendered (see Mode). */
  mode: u32 = 0;
  /** The route pattern, e.g. "/posts/:slug". */
  route: string = "";
  /** The normalized path, e.g. "/posts/hello-world" ("" in kiln_paths). */
  path: string = "";
  /** Route parameters in pattern order. */
  params: Param[] = [];
  /** Unix milliseconds of the stored page's generation; 0 if none. */
  prevGenerated: i64 = 0;

  /** The value of the named route parameter, or null. */
  param(name: string): string | null {
    for (let i = 0; i < this.params.length; i++) {
      if (this.params[i].name == name) return this.params[i].value;
    }
    return null;
  }
}

// ---- byte buffers (unmanaged, reused across renders) ----

class Buf {
  ptr: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;

  reserve(extra: i32): usize {
    if (this.cap - this.len < extra) {
      let cap = this.cap ? this.cap : 256;
      while (cap - this.len < extra) cap <<= 1;
      this.ptr = this.ptr ? heap.realloc(this.ptr, <usize>cap) : heap.alloc(<usize>cap);
      this.cap = cap;
    }
    return this.ptr + <usize>this.len;
  }

  bytes(src: usize, n: i32): void {
    memory.copy(this.reserve(n), src, <usize>n);
    this.len += n;
  }

  u32(v: u32): void {
    store<u32>(this.reserve(4), v);
    this.len += 4;
  }

  i64(v: i64): void {
    store<i64>(this.reserve(8), v);
    this.len += 8;
  }

  string(s: string): void {
    let n = String.UTF8.byteLength(s);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.reserve(n));
    this.len += n;
  }

  /** str appends s as a length-prefixed ABI string. */
  str(s: string): void {
    this.u32(<u32>String.UTF8.byteLength(s));
    this.string(s);
  }
}

// Decoding: a cursor over [pos, end). Malformed input sets `bad`.
let decPos: usize = 0;
let decEnd: usize = 0;
let decBad = false;

function decStart(ptr: usize, len: i32): void {
  decPos = ptr;
  decEnd = ptr + <usize>len;
  decBad = false;
}

function decTake(n: usize): usize {
  if (decBad || decEnd - decPos < n) {
    decBad = true;
    return 0;
  }
  let p = decPos;
  decPos += n;
  return p;
}

function decU32(): u32 {
  let p = decTake(4);
  return p ? load<u32>(p) : 0;
}

function decI64(): i64 {
  let p = decTake(8);
  return p ? load<i64>(p) : 0;
}

function decString(): string {
  let n = <usize>decU32();
  let p = decTake(n);
  return p ? String.UTF8.decodeUnsafe(p, n) : "";
}

function decBytes(): Uint8Array {
  let n = <usize>decU32();
  let p = decTake(n);
  let out = new Uint8Array(<i32>n);
  if (p) memory.copy(out.dataStart, p, n);
  return out;
}

/** decCount reads a count whose elements take at least min bytes each. */
function decCount(min: usize): i32 {
  let n = <usize>decU32();
  if (n > (decEnd - decPos) / min) decBad = true;
  return decBad ? 0 : <i32>n;
}

const reqBuf = new Buf();

function readRequest(len: i32): Request | null {
  reqBuf.len = 0;
  if (len < 0) return null;
  let p = reqBuf.reserve(len);
  if (len > 0) hostRequest(p);
  decStart(p, len);
  let req = new Request();
  req.mode = decU32();
  req.route = decString();
  req.path = decString();
  let n = decCount(8);
  for (let i = 0; i < n; i++) {
    let name = decString();
    req.params.push(new Param(name, decString()));
  }
  req.prevGenerated = decI64();
  return decBad || decPos != decEnd ? null : req;
}

// ---- response ----

const NOT_FOUND: u32 = 1;
const NO_STORE: u32 = 2;

const headerBuf = new Buf();
const tagBuf = new Buf();
const bodyBuf = new Buf();
const outBuf = new Buf();

/**
 * A renderer's answer, handed to your render function. Methods chain:
 * `res.header("X-A", "1").write("<p>hi</p>")`.
 */
export class Response {
  private status_: u32 = 0;
  private flags: u32 = 0;
  private revalidate_: i64 = -1;
  private redirect_: string = "";
  private nheaders: u32 = 0;
  private ntags: u32 = 0;

  /** Sets the HTTP status (200 by default). */
  status(status: u32): Response {
    this.status_ = status;
    return this;
  }

  /** Adds a header; hop-by-hop and engine-owned headers fail the render. */
  header(name: string, value: string): Response {
    headerBuf.str(name);
    headerBuf.str(value);
    this.nheaders++;
    return this;
  }

  /** Adds a tag for `POST /_kiln/revalidate {"tags": [...]}`. */
  tag(tag: string): Response {
    tagBuf.str(tag);
    this.ntags++;
    return this;
  }

  /** Appends s, UTF-8 encoded, to the body. */
  write(s: string): Response {
    bodyBuf.string(s);
    return this;
  }

  /** Appends s with & < > " ' escaped for HTML. */
  writeHTML(s: string): Response {
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      let rep: string;
      switch (s.charCodeAt(i)) {
        case 0x26: rep = "&amp;"; break;
        case 0x3c: rep = "&lt;"; break;
        case 0x3e: rep = "&gt;"; break;
        case 0x22: rep = "&#34;"; break;
        case 0x27: rep = "&#39;"; break;
        default: continue;
      }
      if (i > start) bodyBuf.string(s.substring(start, i));
      bodyBuf.string(rep);
      start = i + 1;
    }
    if (start < s.length) bodyBuf.string(start ? s.substring(start) : s);
    return this;
  }

  /** Appends raw bytes to the body. */
  writeBytes(b: Uint8Array): Response {
    bodyBuf.bytes(b.dataStart, b.length);
    return this;
  }

  /** Redirects; status is 301, 302, 303, 307 or 308 (0 means 307). */
  redirect(status: u32, location: string): Response {
    this.status_ = status;
    this.redirect_ = location;
    return this;
  }

  /** Answers 404 (the site's 404 page when the body is empty). */
  notFound(): Response {
    this.flags |= NOT_FOUND;
    return this;
  }

  /** Serves the response but stores nothing. */
  noStore(): Response {
    this.flags |= NO_STORE;
    return this;
  }

  /** Overrides the route's revalidate: seconds, 0 never stale, -1 default. */
  revalidate(seconds: i64): Response {
    this.revalidate_ = seconds;
    return this;
  }

  /** @internal encode writes the answer (sdk/ABI.md §5.3) to outBuf. */
  encode(): void {
    outBuf.len = 0;
    outBuf.reserve(40 + headerBuf.len + tagBuf.len + bodyBuf.len);
    outBuf.u32(this.status_);
    outBuf.u32(this.flags);
    outBuf.i64(this.revalidate_);
    outBuf.str(this.redirect_);
    outBuf.u32(this.nheaders);
    outBuf.bytes(headerBuf.ptr, headerBuf.len);
    outBuf.u32(this.ntags);
    outBuf.bytes(tagBuf.ptr, tagBuf.len);
    outBuf.u32(<u32>bodyBuf.len);
    outBuf.bytes(bodyBuf.ptr, bodyBuf.len);
  }
}

// ---- data ----


/** unavailable reports whether a data call of this render hit a source that is down. */
export function unavailable(): bool {
  return dataUnavailable;
}

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function fetch(n: i32): Uint8Array {
  let out = new Uint8Array(n);
  if (n > 0) hostResult(out.dataStart);
  return out;
}

/**
 * Looks up one key: its value, or null when it does not exist or the data
 * source is down (then unavailable() is true and the render will fail).
 * Keys starting with "kiln:" are answered by the engine
 * ("kiln:asset:style.css" is the hashed URL of a static file).
 */
export function get(key: string): Uint8Array | null {
  let k = utf8(key);
  let n = hostDataGet(changetype<usize>(k), k.byteLength);
  if (n == -1) return null;
  if (n < 0) {
    dataUnavailable = true;
    return null;
  }
  return fetch(n);
}

/** Like get, decoding the value as UTF-8. */
export function getString(key: string): string | null {
  let v = get(key);
  if (v == null) return null;
  return String.UTF8.decodeUnsafe(v.dataStart, <usize>v.length);
}

/** The most keys one data_get_many call carries; getMany splits bigger batches. */
export const GET_MANY_MAX = 1000;

const keysBuf = new Buf();

/**
 * Looks up many keys with one call to the engine (data_get_many) instead
 * of one get each, so a page that shows N items makes one round trip to
 * the data source. The answer has one entry per key, in order: null when
 * that key does not exist. Returns null when the data source is down (then
 * unavailable() is true and the render will fail). Every key becomes a
 * dependency of the page.
 */
export function getMany(keys: string[]): Array<Uint8Array | null> | null {
  let out = new Array<Uint8Array | null>();
  for (let at = 0; at < keys.length; at += GET_MANY_MAX) {
    let n = min(keys.length - at, GET_MANY_MAX);
    keysBuf.len = 0;
    keysBuf.u32(<u32>n);
    for (let i = at; i < at + n; i++) keysBuf.str(keys[i]);
    let len = hostDataGetMany(keysBuf.ptr, keysBuf.len);
    if (len < 0) {
      dataUnavailable = true;
      return null;
    }
    let raw = fetch(len);
    decStart(raw.dataStart, len);
    if (decCount(8) != n) unreachable(); // the host sent a malformed answer
    for (let i = 0; i < n; i++) {
      let found = decU32();
      let value = decBytes();
      if (found > 1 || (found == 0 && value.length > 0)) unreachable();
      out.push(found ? value : null);
    }
    if (decBad || decPos != decEnd) unreachable();
  }
  return out;
}

/** One key/value pair of a listing. */
export class Item {
  constructor(public key: string, public value: Uint8Array) {}

  /** The value decoded as UTF-8. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.value.dataStart, <usize>this.value.length);
  }
}

/** One page of a prefix listing. */
export class Page {
  items: Item[] = [];
  /** The cursor for the next page; "" on the last page. */
  next: string = "";
}

/**
 * Lists one page of the keys starting with prefix, after cursor ("" to
 * start). limit 0 means 100 (the engine caps it at 1000). Returns null when
 * the data source is down.
 */
export function listPage(prefix: string, cursor: string, limit: u32 = 0, reverse: bool = false): Page | null {
  let p = utf8(prefix);
  let c = utf8(cursor);
  let n = hostDataList(changetype<usize>(p), p.byteLength, changetype<usize>(c), c.byteLength, <i32>limit, reverse ? 1 : 0);
  if (n < 0) {
    dataUnavailable = true;
    return null;
  }
  let raw = fetch(n);
  decStart(raw.dataStart, n);
  let page = new Page();
  let count = decCount(8);
  for (let i = 0; i < count; i++) {
    let key = decString();
    page.items.push(new Item(key, decBytes()));
  }
  page.next = decString();
  if (decBad || decPos != decEnd) unreachable(); // the host sent a malformed page
  return page;
}

/** Lists every item under prefix, all pages; null when the source is down. */
export function list(prefix: string, reverse: bool = false): Item[] | null {
  let items: Item[] = [];
  let cursor = "";
  do {
    let page = listPage(prefix, cursor, 0, reverse);
    if (page == null) return null;
    for (let i = 0; i < page.items.length; i++) items.push(page.items[i]);
    cursor = page.next;
  } while (cursor.length > 0);
  return items;
}

// ---- log and failure ----

/** Log levels. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** Logs msg to the engine's log, tagged with the renderer and path. */
export function log(level: Level, msg: string): void {
  let b = utf8(msg);
  hostLog(level, changetype<usize>(b), b.byteLength);
}


/** Fails the render with msg: the render function's answer is dropped. */
export function fail(msg: string): void {
  let b = utf8(msg);
  hostFail(changetype<usize>(b), b.byteLength);
  failed = true;
}

/**
 * The `abort` AssemblyScript calls on a failed assertion, a bounds check or
 * `throw`: report it, then trap. Build with `--use abort=...` pointing here
 * (see README.md) so the module imports nothing from `env`.
 */
export function kilnAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let msg = "abort: " + (message ? message : "") + " at " + (fileName ? fileName : "?") +
    ":" + line.toString() + ":" + column.toString();
  log(Level.Error, msg);
  fail(msg);
  unreachable();
}

// ---- exports ----

function start(): void {
  failed = false;
  dataUnavailable = false;
  headerBuf.len = 0;
  tagBuf.len = 0;
  bodyBuf.len = 0;
}

function finish(): i32 {
  if (failed) return 1;
  if (dataUnavailable) {
    fail("data source unavailable");
    return 1;
  }
  return 0;
}

function badRequest(): i32 {
  fail("kiln: malformed request");
  return 1;
}

/**
 * Runs a render (or fallback) function for the export. In your entry file:
 *
 *     export function kiln_render(len: i32): i32 { return kiln.render(len, page); }
 */
export function render(len: i32, fn: (req: Request, res: Response) => void): i32 {
  start();
  let req = readRequest(len);
  if (req == null) return badRequest();
  let res = new Response();
  fn(req, res);
  let rc = finish();
  if (rc == 0) {
    res.encode();
    hostResponse(outBuf.ptr, outBuf.len);
  }
  return rc;
}

/**
 * Runs a path-list function for the `kiln_paths` export:
 *
 *     export function kiln_paths(len: i32): i32 { return kiln.paths(len, allPosts); }
 */
export function paths(len: i32, fn: (req: Request) => string[]): i32 {
  start();
  let req = readRequest(len);
  if (req == null) return badRequest();
  let list = fn(req);
  let rc = finish();
  if (rc == 0) {
    outBuf.len = 0;
    outBuf.u32(<u32>list.length);
    for (let i = 0; i < list.length; i++) outBuf.str(list[i]);
    hostResponse(outBuf.ptr, outBuf.len);
  }
  return rc;
}

export { jsonString, jsonNumber } from "./json";
