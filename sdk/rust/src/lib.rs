//! Write [Kiln](https://github.com/kilnhq/kiln) page renderers in Rust.
//!
//! A renderer is a `cdylib` built for `wasm32-wasi` that speaks the Kiln
//! renderer ABI v1 (`sdk/ABI.md`). This crate has no dependencies. Write a
//! function from [`Request`] to [`Response`] and export it:
//!
//! ```ignore
//! fn render(req: &kiln::Request) -> kiln::Result<kiln::Response> {
//!     let slug = req.param("slug").unwrap_or("");
//!     match kiln::get(format!("post:{slug}"))? {
//!         Some(post) => Ok(kiln::Response::new().tag(format!("post:{slug}")).body(post)),
//!         None => Ok(kiln::Response::not_found()),
//!     }
//! }
//! kiln::export!(render: render);
//! ```
//!
//! Data is read only through [`get`] and [`list`], so the engine knows which
//! keys a page depends on and regenerates it when they change. When the data
//! source is down they return [`Unavailable`]: pass it up with `?` and the
//! render fails (the engine keeps serving the stale page, or answers 503).
#![warn(missing_docs)]

pub mod json;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// The result of a render, a path list or a data call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a page is being rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Prerendering during `kiln build`.
    Build,
    /// Stale-while-revalidate or data-change regeneration.
    Background,
    /// A visitor is waiting for this render.
    Blocking,
    /// A preview request: rendered fresh, never stored.
    Preview,
    /// A mode this SDK does not know yet.
    Other(u32),
}

impl Mode {
    fn from_u32(n: u32) -> Mode {
        match n {
            0 => Mode::Build,
            1 => Mode::Background,
            2 => Mode::Blocking,
            3 => Mode::Preview,
            n => Mode::Other(n),
        }
    }

    /// The mode's number in the ABI.
    pub fn as_u32(self) -> u32 {
        match self {
            Mode::Build => 0,
            Mode::Background => 1,
            Mode::Blocking => 2,
            Mode::Preview => 3,
            Mode::Other(n) => n,
        }
    }
}

/// A page request.
#[derive(Clone, Debug)]
pub struct Request {
    /// Why the page is rendered.
    pub mode: Mode,
    /// The route pattern, e.g. `/posts/:slug`.
    pub route: String,
    /// The normalized path, e.g. `/posts/hello-world` (empty for paths).
    pub path: String,
    /// Route parameters (name, value) in pattern order.
    pub params: Vec<(String, String)>,
    /// Unix milliseconds of the stored page's generation; 0 if none.
    pub prev_generated: i64,
}

impl Request {
    /// The value of the named route parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A renderer's answer. Build it with the chaining methods, and append to
/// the body with [`std::fmt::Write`] or [`std::io::Write`] (`write!`).
#[derive(Clone, Debug)]
pub struct Response {
    status: u32,
    flags: u32,
    revalidate: i64,
    redirect: String,
    headers: Vec<(String, String)>,
    tags: Vec<String>,
    body: Vec<u8>,
}

const NOT_FOUND: u32 = 1;
const NO_STORE: u32 = 2;

impl Default for Response {
    fn default() -> Self {
        Response::new()
    }
}

impl Response {
    /// A 200 response with an empty body; `Content-Type` defaults to
    /// `text/html; charset=utf-8`.
    pub fn new() -> Self {
        Response {
            status: 0,
            flags: 0,
            revalidate: -1,
            redirect: String::new(),
            headers: Vec::new(),
            tags: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A 404: the site's 404 page is served unless you set a body.
    pub fn not_found() -> Self {
        let mut r = Response::new();
        r.flags |= NOT_FOUND;
        r
    }

    /// A redirect to `location`; status is 301, 302, 303, 307 or 308.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        let mut r = Response::new();
        r.status = status.into();
        r.redirect = location.into();
        r
    }

    /// Sets the HTTP status (200 by default).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status.into();
        self
    }

    /// Adds a header. The engine refuses hop-by-hop headers and the ones it
    /// owns (`Cache-Control`, `ETag`, ...), failing the render.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a tag: `POST /_kiln/revalidate {"tags": [...]}` regenerates
    /// every page carrying it.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Overrides the route's revalidate interval, in seconds; 0 means the
    /// page never goes stale.
    pub fn revalidate(mut self, seconds: u32) -> Self {
        self.revalidate = seconds.into();
        self
    }

    /// Serves the response but stores nothing (`Cache-Control: private,
    /// no-store`); the only way to send `Set-Cookie`.
    pub fn no_store(mut self) -> Self {
        self.flags |= NO_STORE;
        self
    }

    /// Appends bytes to the body.
    pub fn push(&mut self, bytes: impl AsRef<[u8]>) {
        self.body.extend_from_slice(bytes.as_ref());
    }

    /// Appends `s` to the body with `& < > " '` escaped for HTML.
    pub fn push_html(&mut self, s: &str) {
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let rep = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&#34;",
                b'\'' => "&#39;",
                _ => continue,
            };
            self.push(&s[start..i]);
            self.push(rep);
            start = i + 1;
        }
        self.push(&s[start..]);
    }

    fn encode(&self) -> Vec<u8> {
        let mut e = Vec::with_capacity(self.encoded_len());
        put_u32(&mut e, self.status);
        put_u32(&mut e, self.flags);
        e.extend_from_slice(&self.revalidate.to_le_bytes());
        put_str(&mut e, self.redirect.as_bytes());
        put_u32(&mut e, self.headers.len() as u32);
        for (n, v) in &self.headers {
            put_str(&mut e, n.as_bytes());
            put_str(&mut e, v.as_bytes());
        }
        put_u32(&mut e, self.tags.len() as u32);
        for t in &self.tags {
            put_str(&mut e, t.as_bytes());
        }
        put_str(&mut e, &self.body);
        e
    }

    fn encoded_len(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| 8 + n.len() + v.len()).sum();
        let tags: usize = self.tags.iter().map(|t| 4 + t.len()).sum();
        32 + self.redirect.len() + headers + tags + self.body.len()
    }
}

impl fmt::Write for Response {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

impl std::io::Write for Response {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A failed render: the message goes to the engine's log.
pub struct Error {
    msg: String,
}

impl Error {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        Error { msg: msg.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.msg, f)
    }
}

impl From<&str> for Error {
    fn from(msg: &str) -> Self {
        Error::new(msg)
    }
}

impl From<String> for Error {
    fn from(msg: String) -> Self {
        Error::new(msg)
    }
}

impl From<Unavailable> for Error {
    fn from(u: Unavailable) -> Self {
        Error::new(u.to_string())
    }
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error::new("formatting failed")
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(e.to_string())
    }
}

/// The data source is down or failed. The engine fails the render whatever
/// the renderer answers, so pass it up with `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("data source unavailable")
    }
}

impl std::error::Error for Unavailable {}

/// Looks up one key; `Ok(None)` when it does not exist. Keys starting with
/// `kiln:` are answered by the engine: `kiln:asset:style.css` is the
/// content-hashed URL of a static file.
pub fn get(key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, Unavailable> {
    let key = key.as_ref();
    let n = unsafe { sys::data_get(key.as_ptr(), key.len() as i32) };
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(unavailable()),
        n => Ok(Some(fetch(n as usize))),
    }
}

/// The most keys one `data_get_many` call carries; [`get_many`] splits
/// bigger batches.
pub const GET_MANY_MAX: usize = 1000;

/// Looks up many keys with one call to the engine (`data_get_many`) instead
/// of one [`get`] each, so a page that shows N items makes one round trip
/// to the data source. The answer has one entry per key, in order: `None`
/// when that key does not exist. Every key becomes a dependency of the page.
pub fn get_many<K: AsRef<[u8]>>(keys: &[K]) -> Result<Vec<Option<Vec<u8>>>, Unavailable> {
    let mut out = Vec::with_capacity(keys.len());
    let mut buf = Vec::new();
    for batch in keys.chunks(GET_MANY_MAX) {
        buf.clear();
        put_u32(&mut buf, batch.len() as u32);
        for k in batch {
            put_str(&mut buf, k.as_ref());
        }
        let n = unsafe { sys::data_get_many(buf.as_ptr(), buf.len() as i32) };
        if n < 0 {
            return Err(unavailable());
        }
        let values = decode_values(&fetch(n as usize), batch.len());
        out.extend(values.expect("kiln: malformed data_get_many answer from host"));
    }
    Ok(out)
}

/// One key/value pair of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The key (invalid UTF-8 is replaced with U+FFFD).
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
}

/// One page of a prefix listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The items, in key order (or reverse key order).
    pub items: Vec<Item>,
    /// The cursor for the next page; empty on the last page.
    pub next: String,
}

/// Lists one page of the keys starting with `prefix`, after `cursor`
/// (empty to start). `limit` 0 means 100; the engine caps it at 1000.
pub fn list_page(prefix: &str, cursor: &str, limit: u32, reverse: bool) -> Result<Page, Unavailable> {
    let n = unsafe {
        sys::data_list(
            prefix.as_ptr(),
            prefix.len() as i32,
            cursor.as_ptr(),
            cursor.len() as i32,
            limit as i32,
            reverse as i32,
        )
    };
    if n < 0 {
        return Err(unavailable());
    }
    Ok(decode_page(&fetch(n as usize)).expect("kiln: malformed list page from host"))
}

/// Lists every item whose key starts with `prefix`, fetching pages as the
/// iteration goes:
///
/// ```ignore
/// for item in kiln::list("post:").reverse() {
///     let item = item?;
/// }
/// ```
pub fn list(prefix: impl Into<String>) -> List {
    List { prefix: prefix.into(), limit: 0, reverse: false, items: Vec::new().into_iter(), next: Some(String::new()) }
}

/// An iterator over a prefix listing; see [`list`].
#[derive(Debug)]
pub struct List {
    prefix: String,
    limit: u32,
    reverse: bool,
    items: std::vec::IntoIter<Item>,
    next: Option<String>, // None once the last page is fetched or a call failed
}

impl List {
    /// Sets the page size (0 means 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Lists in descending key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }
}

impl Iterator for List {
    type Item = Result<Item, Unavailable>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.items.next() {
                return Some(Ok(item));
            }
            let cursor = self.next.take()?;
            match list_page(&self.prefix, &cursor, self.limit, self.reverse) {
                Ok(page) => {
                    self.items = page.items.into_iter();
                    self.next = Some(page.next).filter(|n| !n.is_empty());
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Debugging detail.
    Debug = 0,
    /// Normal events.
    Info = 1,
    /// Something looks wrong.
    Warn = 2,
    /// Something failed.
    Error = 3,
}

/// Logs a message to the engine's log, tagged with the renderer and path.
/// (`println!` and `eprintln!` go there too, one record per line.)
pub fn log(level: Level, msg: &str) {
    unsafe { sys::log(level as i32, msg.as_ptr(), msg.len() as i32) }
}

// ---- the ABI ----

mod sys {
    #[link(wasm_import_module = "kiln")]
    extern "C" {
        pub fn request(ptr: *mut u8);
        pub fn response(ptr: *const u8, len: i32);
        pub fn fail(ptr: *const u8, len: i32);
        pub fn data_get(key: *const u8, len: i32) -> i32;
        pub fn data_list(prefix: *const u8, prefix_len: i32, cursor: *const u8, cursor_len: i32, limit: i32, reverse: i32) -> i32;
        // Optional in the ABI: the linker drops it from a module that
        // never calls get_many, so such a module loads on older engines.
        pub fn data_get_many(keys: *const u8, len: i32) -> i32;
        pub fn result(ptr: *mut u8);
        pub fn log(level: i32, ptr: *const u8, len: i32);
    }
}

/// Set when a data call of the current render answered "unavailable".
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

fn unavailable() -> Unavailable {
    UNAVAILABLE.store(true, Ordering::Relaxed);
    Unavailable
}

/// fetch copies the host's pending result (n bytes).
fn fetch(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    if n > 0 {
        unsafe {
            sys::result(v.as_mut_ptr());
            v.set_len(n);
        }
    }
    v
}

fn put_u32(e: &mut Vec<u8>, v: u32) {
    e.extend_from_slice(&v.to_le_bytes());
}

fn put_str(e: &mut Vec<u8>, s: &[u8]) {
    put_u32(e, s.len() as u32);
    e.extend_from_slice(s);
}

/// A decoder over an encoded payload; `None` means it ended early.
struct Decoder<'a> {
    b: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (v, rest) = self.b.split_at(n);
        self.b = rest;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        let v = self.take(4)?;
        Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    fn i64(&mut self) -> Option<i64> {
        let mut x = [0u8; 8];
        x.copy_from_slice(self.take(8)?);
        Some(i64::from_le_bytes(x))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    /// count reads an element count that fits what is left, each element
    /// taking at least `min` bytes.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        if n > self.b.len() / min {
            return None;
        }
        Some(n)
    }

    fn end<T>(&self, v: T) -> Option<T> {
        if self.b.is_empty() {
            Some(v)
        } else {
            None
        }
    }
}

fn decode_request(b: &[u8]) -> Option<Request> {
    let mut d = Decoder { b };
    let mode = Mode::from_u32(d.u32()?);
    let route = d.string()?;
    let path = d.string()?;
    let n = d.count(8)?;
    let mut params = Vec::with_capacity(n);
    for _ in 0..n {
        params.push((d.string()?, d.string()?));
    }
    let prev_generated = d.i64()?;
    d.end(Request { mode, route, path, params, prev_generated })
}

fn decode_page(b: &[u8]) -> Option<Page> {
    let mut d = Decoder { b };
    let n = d.count(8)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let key = String::from_utf8_lossy(d.bytes()?).into_owned();
        items.push(Item { key, value: d.bytes()?.to_vec() });
    }
    let next = String::from_utf8_lossy(d.bytes()?).into_owned();
    d.end(Page { items, next })
}

fn decode_values(b: &[u8], want: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut d = Decoder { b };
    let n = d.count(8)?;
    if n != want {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let found = d.u32()?;
        let value = d.bytes()?;
        match found {
            1 => out.push(Some(value.to_vec())),
            0 if value.is_empty() => out.push(None),
            _ => return None,
        }
    }
    d.end(out)
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    fn fail(msg: &str) -> i32 {
        unsafe { sys::fail(msg.as_ptr(), msg.len() as i32) };
        1
    }

    /// read_request runs the start of every export: copy and decode the
    /// request, and reset per-render state.
    fn read_request(len: i32) -> Option<Request> {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let msg = info.to_string();
                log(Level::Error, &msg);
                fail(&msg);
            }))
        });
        UNAVAILABLE.store(false, Ordering::Relaxed);
        let buf = fetch_request(len.max(0) as usize);
        decode_request(&buf)
    }

    fn fetch_request(n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        if n > 0 {
            unsafe {
                sys::request(v.as_mut_ptr());
                v.set_len(n);
            }
        }
        v
    }

    fn answer<T>(out: Result<T>, encode: impl FnOnce(&T) -> Vec<u8>) -> i32 {
        match out {
            Err(e) => fail(&e.msg),
            Ok(_) if UNAVAILABLE.load(Ordering::Relaxed) => fail("data source unavailable"),
            Ok(v) => {
                let b = encode(&v);
                unsafe { sys::response(b.as_ptr(), b.len() as i32) };
                0
            }
        }
    }

    pub fn render(len: i32, f: fn(&Request) -> Result<Response>) -> i32 {
        match read_request(len) {
            Some(req) => answer(f(&req), Response::encode),
            None => fail("kiln: malformed request"),
        }
    }

    pub fn paths(len: i32, f: fn(&Request) -> Result<Vec<String>>) -> i32 {
        match read_request(len) {
            Some(req) => answer(f(&req), |paths| {
                let mut e = Vec::new();
                put_u32(&mut e, paths.len() as u32);
                for p in paths {
                    put_str(&mut e, p.as_bytes());
                }
                e
            }),
            None => fail("kiln: malformed request"),
        }
    }
}

/// Exports a renderer: `render` is required, `paths` (the build-time path
/// list) and `fallback` (the fallback shell) are optional:
///
/// ```ignore
/// kiln::export!(render: render, paths: paths, fallback: shell);
/// ```
///
/// `render` and `fallback` are `fn(&Request) -> kiln::Result<Response>`,
/// `paths` is `fn(&Request) -> kiln::Result<Vec<String>>`. Use it once, in
/// the crate root of a `cdylib`.
#[macro_export]
macro_rules! export {
    (render: $render:path $(, paths: $paths:path)? $(, fallback: $fallback:path)? $(,)?) => {
        /// The Kiln ABI version marker; never called.
        #[export_name = "kiln_abi_version_1"]
        pub extern "C" fn __kiln_abi_version_1() {}

        #[export_name = "kiln_render"]
        pub extern "C" fn __kiln_render(len: i32) -> i32 {
            $crate::__private::render(len, $render)
        }

        $(
            #[export_name = "kiln_paths"]
            pub extern "C" fn __kiln_paths(len: i32) -> i32 {
                $crate::__private::paths(len, $paths)
            }
        )?

        $(
            #[export_name = "kiln_fallback"]
            pub extern "C" fn __kiln_fallback(len: i32) -> i32 {
                $crate::__private::render(len, $fallback)
            }
        )?
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_example_response() {
        // sdk/ABI.md §6.
        let got = Response::new().tag("post").body("<h1>Hi</h1>").encode();
        let want: &[u8] = b"\0\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\0\0\0\0\0\0\0\0\x01\0\0\0\x04\0\0\0post\x0b\0\0\0<h1>Hi</h1>";
        assert_eq!(got, want);
    }

    #[test]
    fn abi_example_request() {
        let b = b"\x02\0\0\0\x0c\0\0\0/posts/:slug\x12\0\0\0/posts/hello-world\x01\0\0\0\x04\0\0\0slug\x0b\0\0\0hello-world\0\0\0\0\0\0\0\0";
        let r = decode_request(b).unwrap();
        assert_eq!((r.mode, r.route.as_str(), r.param("slug")), (Mode::Blocking, "/posts/:slug", Some("hello-world")));
        assert!(decode_request(&b[..b.len() - 1]).is_none());
    }
}
