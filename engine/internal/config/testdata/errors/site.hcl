site {
  listen           = "localhost"
  admin_secret     = "hunter2"
  preview_secret   = "swordfish"
  admin_secret_env = "1BAD"
  hot_cache        = "huge"
  negative_ttl     = "-1s"
  retry_backoff    = [1]
  not_found        = "missing"
  store            = var.store
  metrics_listen   = "9090"
}
