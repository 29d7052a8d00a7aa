# The Kiln example blog (sites/blog), served from a JSON data file.
#
#   go run ./engine            # serves this file on :3000
#
# Variants of this config, each changing the data source, live next to the
# site: sites/blog/kv.hcl, markdown.hcl, postgres.hcl, about-c.hcl (adds an
# About page rendered by C) and post-c.hcl (posts rendered by C). See
# sites/blog/README.md.

site {
  listen    = ":3000"
  store     = ".kiln"
  not_found = "notfound"
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path = "sites/blog/data.json"
  }
}

renderer "home" {
  source = "./sites/blog/renderers/home"
}

renderer "post" {
  source = "./sites/blog/renderers/post"
}

renderer "notfound" {
  source = "./sites/blog/renderers/notfound"
}

renderer "shell" {
  source = "./sites/blog/renderers/shell"
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
  dir = "./sites/blog/public"
}
