data_source "blog" {
  plugin = "jsonfile"
}

on_change "unknown-source" {
  source     = "db"
  match      = "post:*"
  revalidate = ["/"]
}

on_change "empty-match" {
  match = ""
  tags  = ["x"]
}

on_change "bad-template" {
  match      = "*"
  revalidate = ["/posts/${item.nope}", "/${other.x}"]
  tags       = [item.key, nosuchfunc(item.key), { a = 1 }]
}

on_change "nothing" {
  match = "*"
}

on_change "not-a-list" {
  match      = "*"
  revalidate = "/"
  policy     = "now"
}
