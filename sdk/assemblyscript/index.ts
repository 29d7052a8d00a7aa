// The package entry AssemblyScript resolves for `import ... from "@kilnhq/kiln-assemblyscript"`.
export * from "./assembly/index";
export * from "./assembly/json";
