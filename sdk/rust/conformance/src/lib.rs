//! The Rust conformance renderer: behaves exactly as
//! sdk/testdata/conformance/SPEC.md says, so the shared vectors can check
//! that the Rust SDK encodes byte-identical answers to every other SDK.

use kiln::{Level, Request, Response, Result};
use std::fmt::Write;

fn render(req: &Request) -> Result<Response> {
    let path = req.path.as_str();
    if path.starts_with("/get/") {
        return get(req);
    }
    if path.starts_with("/many/") {
        return many(req);
    }
    if path.starts_with("/list/") {
        return list(req, 2, false);
    }
    if path.starts_with("/rlist/") {
        return list(req, 3, true);
    }
    Ok(match path {
        "/unicode" => Response::new()
            .header("Content-Type", "text/plain; charset=utf-8")
            .body("héllo, wörld — ✓ 日本語 🎉"),
        "/empty" => Response::new(),
        "/large" => Response::new().body("0123456789abcdef".repeat(65536)),
        "/redirect" => Response::redirect(308, "/target"),
        "/headers" => Response::new()
            .header("Content-Type", "application/json")
            .header("X-Custom", "a b")
            .header("X-Unicode", "ü")
            .body(r#"{"ok":true}"#),
        "/tags" => Response::new().tag("post").tag("post:hello").tag("home").body("tagged"),
        "/echo" => echo(req)?,
        "/nostore" => Response::new().no_store().body("private"),
        "/fail" => return Err("conformance failure".into()),
        "/log" => {
            kiln::log(Level::Info, "hello from conformance");
            Response::new().body("logged")
        }
        _ => Response::not_found(), // "/notfound" and anything else
    })
}

fn get(req: &Request) -> Result<Response> {
    let key = req.param("key").unwrap_or("");
    let mut res = Response::new();
    match kiln::get(key) {
        Ok(Some(v)) => {
            res.push("found:");
            res.push(v);
        }
        Ok(None) => res.push(format!("missing:{key}")),
        Err(_) => return Err("unavailable".into()),
    }
    Ok(res)
}

fn many(req: &Request) -> Result<Response> {
    let keys: Vec<&str> = req.param("keys").unwrap_or("").split(',').collect();
    let values = kiln::get_many(&keys).map_err(|_| "unavailable")?;
    let mut res = Response::new();
    for (key, value) in keys.iter().zip(values) {
        match value {
            Some(v) => {
                res.push(format!("{key}="));
                res.push(v);
                res.push("\n");
            }
            None => res.push(format!("{key} missing\n")),
        }
    }
    Ok(res)
}

fn list(req: &Request, limit: u32, reverse: bool) -> Result<Response> {
    let prefix = req.param("prefix").unwrap_or("");
    let mut res = Response::new();
    let mut cursor = String::new();
    loop {
        let page = kiln::list_page(prefix, &cursor, limit, reverse).map_err(|_| "unavailable")?;
        for item in &page.items {
            res.push(&item.key);
            res.push("=");
            res.push(&item.value);
            res.push("\n");
        }
        res.push("--\n");
        if page.next.is_empty() {
            return Ok(res);
        }
        cursor = page.next;
    }
}

fn echo(req: &Request) -> Result<Response> {
    let mut res = Response::new().revalidate(60);
    let params: Vec<String> = req.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    write!(
        res,
        "mode={}\nroute={}\npath={}\nparams={}\nprev={}\n",
        req.mode.as_u32(),
        req.route,
        req.path,
        params.join(","),
        req.prev_generated
    )?;
    Ok(res)
}

fn paths(_: &Request) -> Result<Vec<String>> {
    Ok(vec!["/unicode".into(), "/empty".into(), "/echo".into()])
}

fn fallback(_: &Request) -> Result<Response> {
    Ok(Response::new().body("<p>loading</p>"))
}

kiln::export!(render: render, paths: paths, fallback: fallback);
