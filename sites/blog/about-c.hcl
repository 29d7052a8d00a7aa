# The example blog plus an About page rendered by C. It is the root
# site.hcl (paths relative to sites/blog/) with one renderer and one route
# added; it is a separate file so that the root blog needs only Go, and
# starts on a machine without clang.
#
#   go run ./engine --config sites/blog/about-c.hcl     # then open /about

site {
  listen    = ":3000"
  store     = ".kiln/about-c"
  not_found = "notfound"
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path = "data.json"
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

# A renderer written in C: the About page (renderers/about-c/about.c, built
# with the C SDK header sdk/c/kiln.h). Kiln runs `build` when about.wasm is
# missing or older than a `watch` file. It needs clang with the wasm32-wasi
# target (Debian: apt-get install clang lld wasi-libc).
renderer "about" {
  wasm  = "./renderers/about-c/about.wasm"
  build = ["clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-I../../sdk/c",
           "-o", "renderers/about-c/about.wasm", "renderers/about-c/about.c", "renderers/about-c/json.c"]
  watch = ["./renderers/about-c/*.c", "./renderers/about-c/*.h", "../../sdk/c/kiln.h"]
}

route "/about" {
  renderer   = "about"
  revalidate = "1h"
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
