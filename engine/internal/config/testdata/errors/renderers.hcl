data_source "blog" {
  plugin = "jsonfile"
}

renderer "both" {
  source = "../valid/renderers/post"
  wasm   = "../valid/shell.wasm"
}

renderer "neither" {
  data = "blog"
}

renderer "nosource" {
  source = "./missing/post"
}

renderer "nowasm" {
  wasm = "missing.wasm"
}

renderer "baddata" {
  wasm = "../valid/shell.wasm"
  data = "db"
}

renderer "limits" {
  wasm         = "../valid/shell.wasm"
  pool         = 0
  max_memory   = "lots"
  max_response = "8XB"
  timeout      = 0
}

renderer "build" {
  wasm  = "out.wasm"
  build = []
  watch = ["src/[.c"]
}

renderer "bad name!" {
  source = "../valid/renderers/post"
  build  = ["go", "build"]
}

renderer "env" {
  wasm = "../valid/shell.wasm"
  env  = { "1BAD" = "x", KILN_SECRET = "y", OK = "z" }
}

renderer "envtype" {
  wasm = "../valid/shell.wasm"
  env  = ["A=b"]
}

renderer "budgets" {
  wasm             = "../valid/shell.wasm"
  max_memory       = "128MiB"
  memory_budget    = "64MiB"
  idle_timeout     = 0
  max_log          = "lots"
  max_dependencies = 0
  max_tags         = -1
}
