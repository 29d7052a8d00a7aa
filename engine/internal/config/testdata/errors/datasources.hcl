data_source "both" {
  plugin  = "jsonfile"
  command = "./bin/plugin"
}

data_source "neither" {
  env = ["HOME"]
}

data_source "unknown" {
  plugin = "mysql"
}

data_source "checks" {
  command       = "./bin/plugin"
  sha256        = "abc123"
  env           = ["OK_NAME", "BAD-NAME"]
  start_timeout = "-1s"
}

data_source "args" {
  plugin = "kv"
  args   = ["--x"]
  config {
    path = 42 + "x"
  }
  config {
  }
}

renderer "post" {
  wasm = "../valid/shell.wasm"
}
