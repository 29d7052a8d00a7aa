static "assets" {
  dir = "../valid/public"
}

static "/files/" {
  dir = "./missing"
}

static "/x/" {
  dir = "../valid/shell.wasm"
}

static "/y/" {
}
