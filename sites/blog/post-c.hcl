# The example blog with its posts rendered by C (renderers/post-c) instead
# of Go; the rest is the root site.hcl (paths relative to sites/blog/).
# Needs clang with the wasm32-wasi target (apt-get install clang lld wasi-libc).
#
#   go run ./engine --config sites/blog/post-c.hcl     # then open /posts/hello-world

site {
  listen    = ":3000"
  store     = ".kiln/post-c"
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

renderer "notfound" {
  source = "./renderers/notfound"
}

# Kiln runs `build` when post.wasm is missing or older than a `watch` file.
# The JSON reader is the About page's (renderers/about-c/json.c).
renderer "post" {
  wasm  = "./renderers/post-c/post.wasm"
  build = ["clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-I../../sdk/c",
           "-o", "renderers/post-c/post.wasm", "renderers/post-c/post.c", "renderers/post-c/md.c",
           "renderers/about-c/json.c"]
  watch = ["./renderers/post-c/*.c", "./renderers/post-c/*.h", "./renderers/about-c/json.*", "../../sdk/c/kiln.h"]
}

route "/" {
  renderer   = "home"
  revalidate = "10s"
}

# Nothing is prerendered (the C renderer's paths export names no post unless
# its renderer block sets env = { PRERENDER = "all" } or a number): every
# post is rendered on its first request, which waits for it (fallback
# "blocking").
route "/posts/:slug" {
  renderer   = "post"
  revalidate = "10s"
  fallback   = "blocking"
}

static "/assets/" {
  dir = "./public"
}
