// A renderer that fails an assertion: AssemblyScript's abort, routed to the
// SDK, must report the message before trapping.
import * as kiln from "../../../../assemblyscript/assembly/index";
import { Request, Response } from "../../../../assemblyscript/assembly/index";

export { kiln_abi_version_1 } from "../../../../assemblyscript/assembly/index";

function page(req: Request, res: Response): void {
  assert(req.path == "/never", "boom");
}

export function kiln_render(len: i32): i32 {
  return kiln.render(len, page);
}
