// A blog post page: route "/posts/:slug" reads the JSON document at
// "post:<slug>" ({"title": ..., "body": ...}) and renders it as HTML.
import * as kiln from "@kilnhq/kiln-assemblyscript";
import { Request, Response } from "@kilnhq/kiln-assemblyscript";

export { kiln_abi_version_1 } from "@kilnhq/kiln-assemblyscript";

function page(res: Response, title: string, body: string, css: string | null): void {
  res.write('<!doctype html>\n<html><head><meta charset="utf-8"><title>').writeHTML(title).write("</title>");
  if (css != null) res.write('<link rel="stylesheet" href="').writeHTML(css).write('">');
  res.write("</head>\n<body><article><h1>").writeHTML(title).write("</h1><p>").writeHTML(body);
  res.write("</p></article></body></html>\n");
}

function render(req: Request, res: Response): void {
  let slug = req.param("slug");
  if (slug == null) {
    res.notFound();
    return;
  }
  let key = "post:" + slug;
  let post = kiln.get(key);
  if (post == null) {
    if (!kiln.unavailable()) res.notFound(); // else the SDK fails the render
    return;
  }
  let title = kiln.jsonString(post, "title");
  let body = kiln.jsonString(post, "body");
  if (title == null || body == null) {
    kiln.log(kiln.Level.Error, key);
    kiln.fail("post: want a JSON object with string title and body");
    return;
  }
  let css = kiln.getString("kiln:asset:style.css");
  res.tag(key).tag("posts");
  page(res, title, body, css);
}

// paths prerenders every post: "/posts/<slug>" for each key "post:<slug>".
function paths(req: Request): string[] {
  let out = new Array<string>();
  let items = kiln.list("post:");
  if (items == null) return out; // unavailable: the SDK fails the call
  for (let i = 0; i < items.length; i++) out.push("/posts/" + items[i].key.substring(5));
  return out;
}

function fallback(req: Request, res: Response): void {
  res.write("<!doctype html>\n<p>Loading…</p>\n");
}

export function kiln_render(len: i32): i32 {
  return kiln.render(len, render);
}

export function kiln_paths(len: i32): i32 {
  return kiln.paths(len, paths);
}

export function kiln_fallback(len: i32): i32 {
  return kiln.render(len, fallback);
}
