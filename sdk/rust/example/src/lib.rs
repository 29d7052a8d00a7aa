//! A blog post page: route `/posts/:slug` reads the JSON document at
//! `post:<slug>` (`{"title": ..., "body": ...}`) and renders it as HTML.

use kiln::{Request, Response, Result};

fn render(req: &Request) -> Result<Response> {
    let slug = match req.param("slug") {
        Some(slug) => slug,
        None => return Ok(Response::not_found()),
    };
    let key = format!("post:{slug}");
    let post = match kiln::get(&key)? {
        Some(post) => post,
        None => return Ok(Response::not_found()),
    };
    let (title, body) = match (kiln::json::string(&post, "title"), kiln::json::string(&post, "body")) {
        (Ok(Some(title)), Ok(Some(body))) => (title, body),
        _ => {
            kiln::log(kiln::Level::Error, &key);
            return Err("post: want a JSON object with string title and body".into());
        }
    };
    let css = kiln::get("kiln:asset:style.css")?;
    let mut res = Response::new().tag(key).tag("posts");
    page(&mut res, &title, &body, css.as_deref());
    Ok(res)
}

fn page(res: &mut Response, title: &str, body: &str, css: Option<&[u8]>) {
    res.push("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    res.push_html(title);
    res.push("</title>");
    if let Some(css) = css {
        res.push("<link rel=\"stylesheet\" href=\"");
        res.push_html(&String::from_utf8_lossy(css));
        res.push("\">");
    }
    res.push("</head>\n<body><article><h1>");
    res.push_html(title);
    res.push("</h1><p>");
    res.push_html(body);
    res.push("</p></article></body></html>\n");
}

/// Prerenders every post: `/posts/<slug>` for each key `post:<slug>`.
fn paths(_: &Request) -> Result<Vec<String>> {
    kiln::list("post:")
        .map(|item| Ok(format!("/posts/{}", &item?.key["post:".len()..])))
        .collect()
}

fn fallback(_: &Request) -> Result<Response> {
    Ok(Response::new().body("<!doctype html>\n<p>Loading…</p>\n"))
}

kiln::export!(render: render, paths: paths, fallback: fallback);
