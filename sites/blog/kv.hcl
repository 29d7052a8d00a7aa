# The example blog on the kv data source: a writable Pebble store on disk,
# edited with `kiln data` or the admin API. Only the data_source block
# differs from the root site.hcl (paths here are relative to sites/blog/).
#
#   go run ./engine data --config sites/blog/kv.hcl import sites/blog/data.json
#   go run ./engine --config sites/blog/kv.hcl
#   go run ./engine data --config sites/blog/kv.hcl set post:hello-world - < edited.json

site {
  listen    = ":3000"
  store     = ".kiln/kv"
  not_found = "notfound"
}

data_source "blog" {
  plugin = "kv"
  config {
    dir = ".kiln/kv-data"
  }
}

renderer "home" {
  source = "./renderers/home"
}

renderer "post" {
  source = "./renderers/post"
}

renderer "notfound" {
  source = "./renderers/notfound"
}

renderer "shell" {
  source = "./renderers/shell"
}

route "/" {
  renderer   = "home"
  revalidate = "10s"
}

# Like the seed's pages/posts/[slug].tsx: the post renderer's paths export
# prerenders the two newest posts; any other post gets the shell at once and
# is generated in the background (fallback: true).
route "/posts/:slug" {
  renderer          = "post"
  revalidate        = "10s"
  fallback          = "true"
  fallback_renderer = "shell"
}

# The seed's data.on("*:post:*") rule. Kiln's dependency tracking already
# regenerates every page that read a changed key (the post page reads
# post:<slug>, the home page lists the date index and reads the posts it
# shows), so this rule is redundant here; it is kept to show on_change.
# The path comes from the key, not item.value.slug: a deleted post has no
# value.
on_change "posts" {
  source     = "blog"
  match      = "post:*"
  revalidate = ["/posts/${trimprefix(item.key, "post:")}", "/"]
}

static "/assets/" {
  dir = "./public"
}
