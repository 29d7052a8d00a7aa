// The AssemblyScript conformance renderer: behaves exactly as
// sdk/testdata/conformance/SPEC.md says, so the shared vectors can check
// that this SDK encodes byte-identical answers to every other SDK.
import * as kiln from "@kilnhq/kiln-assemblyscript";
import { Request, Response } from "@kilnhq/kiln-assemblyscript";

export { kiln_abi_version_1 } from "@kilnhq/kiln-assemblyscript";

function param(req: Request, name: string): string {
  let v = req.param(name);
  return v == null ? "" : v;
}

function get(req: Request, res: Response): void {
  let key = param(req, "key");
  let v = kiln.get(key);
  if (v != null) {
    res.write("found:").writeBytes(v);
  } else if (kiln.unavailable()) {
    kiln.fail("unavailable");
  } else {
    res.write("missing:" + key);
  }
}

function many(req: Request, res: Response): void {
  let keys = param(req, "keys").split(",");
  let values = kiln.getMany(keys);
  if (values == null) {
    kiln.fail("unavailable");
    return;
  }
  for (let i = 0; i < keys.length; i++) {
    let v = values[i];
    if (v != null) {
      res.write(keys[i]).write("=").writeBytes(v).write("\n");
    } else {
      res.write(keys[i]).write(" missing\n");
    }
  }
}

function list(req: Request, res: Response, limit: u32, reverse: bool): void {
  let prefix = param(req, "prefix");
  let cursor = "";
  do {
    let page = kiln.listPage(prefix, cursor, limit, reverse);
    if (page == null) {
      kiln.fail("unavailable");
      return;
    }
    for (let i = 0; i < page.items.length; i++) {
      let item = page.items[i];
      res.write(item.key).write("=").writeBytes(item.value).write("\n");
    }
    res.write("--\n");
    cursor = page.next;
  } while (cursor.length > 0);
}

function echo(req: Request, res: Response): void {
  let params = new Array<string>();
  for (let i = 0; i < req.params.length; i++) {
    params.push(req.params[i].name + "=" + req.params[i].value);
  }
  res.revalidate(60)
    .write("mode=" + req.mode.toString() + "\nroute=" + req.route + "\npath=" + req.path)
    .write("\nparams=" + params.join(",") + "\nprev=" + req.prevGenerated.toString() + "\n");
}

function large(res: Response): void {
  for (let i = 0; i < 65536; i++) res.write("0123456789abcdef");
}

function page(req: Request, res: Response): void {
  let path = req.path;
  if (path.startsWith("/get/")) get(req, res);
  else if (path.startsWith("/many/")) many(req, res);
  else if (path.startsWith("/list/")) list(req, res, 2, false);
  else if (path.startsWith("/rlist/")) list(req, res, 3, true);
  else if (path == "/unicode") {
    res.header("Content-Type", "text/plain; charset=utf-8").write("héllo, wörld — ✓ 日本語 🎉");
  } else if (path == "/empty") {
  } else if (path == "/large") large(res);
  else if (path == "/redirect") res.redirect(308, "/target");
  else if (path == "/headers") {
    res.header("Content-Type", "application/json").header("X-Custom", "a b").header("X-Unicode", "ü");
    res.write('{"ok":true}');
  } else if (path == "/tags") res.tag("post").tag("post:hello").tag("home").write("tagged");
  else if (path == "/echo") echo(req, res);
  else if (path == "/nostore") res.noStore().write("private");
  else if (path == "/fail") kiln.fail("conformance failure");
  else if (path == "/log") {
    kiln.log(kiln.Level.Info, "hello from conformance");
    res.write("logged");
  } else res.notFound(); // "/notfound" and anything else
}

function paths(req: Request): string[] {
  return ["/unicode", "/empty", "/echo"];
}

function fallback(req: Request, res: Response): void {
  res.write("<p>loading</p>");
}

export function kiln_render(len: i32): i32 {
  return kiln.render(len, page);
}

export function kiln_paths(len: i32): i32 {
  return kiln.paths(len, paths);
}

export function kiln_fallback(len: i32): i32 {
  return kiln.render(len, fallback);
}
