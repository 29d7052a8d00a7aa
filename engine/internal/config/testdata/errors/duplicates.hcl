site {}
site {}

renderer "post" {
  wasm = "../valid/shell.wasm"
}

renderer "post" {
  wasm = "../valid/shell.wasm"
}

data_source "blog" {
  plugin = "kv"
}

data_source "blog" {
  plugin = "jsonfile"
}

route "/posts/:slug" {
  renderer = "post"
}

route "/posts/:id" {
  renderer = "post"
}

route "/posts/:slug" {
  renderer = "post"
}

on_change "p" {
  match = "*"
  tags  = ["all"]
}

on_change "p" {
  match = "*"
  tags  = ["all"]
}

static "/assets/" {
  dir = "../valid/public"
}

static "/assets/" {
  dir = "../valid/public"
}
