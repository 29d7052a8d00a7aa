# The example blog on the postgres data source: the rows of a table, one
# per key, changes streamed by triggers (LISTEN/NOTIFY). Only the
# data_source block differs from the root site.hcl (paths here are relative
# to sites/blog/). Load the sample data with postgres.sql first:
#
#   psql -v data="$(cat sites/blog/data.json)" -f sites/blog/postgres.sql \
#        postgres://postgres@127.0.0.1:5432/test
#   go run ./engine --config sites/blog/postgres.hcl
#
# Then edit a post and watch its page regenerate:
#
#   psql postgres://postgres@127.0.0.1:5432/test -c \
#     "UPDATE blog_items SET value = jsonb_set(value, '{title}', '\"Hello ISR!\"') WHERE key = 'post:hello-world'"

site {
  listen    = ":3000"
  store     = ".kiln/postgres"
  not_found = "notfound"
}

data_source "blog" {
  plugin = "postgres"
  config {
    dsn          = "postgres://postgres@127.0.0.1:5432/test"
    table        = "blog_items"
    key_column   = "key"
    value_column = "value"
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
