site {
  listne = ":3000"
}

renderer "post" {
  sorce = "./post"
  wasm  = "../valid/shell.wasm"
  nested {}
}

routes "/x" {
  renderer = "post"
}

route "/" {
  renderer = "post"
  foo      = 1
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path = "data.json"
    inner {
      x = 1
    }
  }
}
