// The package's JavaScript entry. Renderers are AssemblyScript, compiled by
// asc from index.ts (package.json "ascMain"); there is no runtime code to
// import from JavaScript, only the paths a build script may need.
import { fileURLToPath } from "node:url";

/** The AssemblyScript entry of the SDK. */
export const ascMain = fileURLToPath(new URL("./index.ts", import.meta.url));

/** The asc configuration a renderer's asconfig.json extends. */
export const asconfig = fileURLToPath(new URL("./asconfig.json", import.meta.url));
