renderer "page" {
  wasm = "../valid/shell.wasm"
}
route "/" {
  renderer = "page"
}
cluster {
  urls       = ["nats://a:4222", "http://b:4222", "nats://"]
  creds      = "-----BEGIN NATS USER JWT-----"
  creds_file = "missing.creds"
  creds_env  = "NATS CREDS"
  replicas   = 2
  prefix     = "my.site"
  node       = "a b"
  lease_ttl  = "500ms"
}
cluster {
  urls = []
}
