site {
  listen    = ":3000"
  hot_cache =
}
