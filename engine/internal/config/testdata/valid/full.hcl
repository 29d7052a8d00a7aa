site {
  listen             = "127.0.0.1:8080"
  store              = "state"
  admin_secret_env   = "BLOG_ADMIN"
  preview_secret_env = "BLOG_PREVIEW"
  not_found          = "shell"
  hot_cache          = "1GB"
  negative_ttl       = 30
  retry_backoff      = "1m30s"
  metrics_listen     = "127.0.0.1:9090"
}
renderer "post" {
  source       = "./renderers/post"
  data         = "blog"
  pool         = 2
  timeout      = "3s"
  max_memory   = "64MiB"
  max_response = 1048576
  env          = { PRERENDER = "all", LIMIT = 10 }
  memory_budget    = "192MiB"
  idle_timeout     = "5m"
  max_log          = "64KiB"
  max_dependencies = 50000
  max_tags         = 16
}

renderer "shell" {
  wasm  = "shell.wasm"
  build = ["clang", "--target=wasm32-wasi", "-o", "shell.wasm", "shell.c"]
  watch = ["./src/*.c"]
  data  = "blog"
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path   = "data.json"
    pretty = true
    limits = { max = 10 }
  }
}

data_source "db" {
  command       = "./bin/pg-plugin"
  args          = ["--verbose"]
  sha256        = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
  env           = ["DATABASE_URL"]
  start_timeout = "30s"
}

route "/" {
  renderer   = "post"
  revalidate = "10s"
}

route "/posts/:slug" {
  renderer          = "post"
  revalidate        = 60
  expire            = "1h"
  fallback          = true
  fallback_renderer = "shell"
  paths             = ["/posts/a", "/posts/b"]
  policy            = "lazy"
}

route "/docs/*path" {
  renderer = "post"
  fallback = "false"
  paths    = []
  timeout  = "5s"
}

on_change "posts" {
  source     = "blog"
  match      = "post:*"
  revalidate = ["/posts/${item.value.slug}", "/"]
  tags       = ["post", lower(item.key)]
  policy     = "lazy"
}

static "/assets/" {
  dir = "./public"
}
