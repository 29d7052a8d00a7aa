package config

import (
	"reflect"
	"testing"
	"time"
)

func TestClusterBlock(t *testing.T) {
	const base = `
renderer "page" {
  wasm = "shell.wasm"
}
route "/" {
  renderer = "page"
}
`
	if s := parseValid(t, base); s.Cluster != nil {
		t.Fatalf("no cluster block: Cluster = %+v, want nil (a single node)", s.Cluster)
	}
	tests := []struct {
		name, src string
		want      Cluster
	}{
		{"defaults", `cluster { urls = ["nats://127.0.0.1:4222"] }`, Cluster{
			URLs: []string{"nats://127.0.0.1:4222"}, Prefix: "kiln", Replicas: 1,
			LeaseTTL: DefaultLeaseTTL, NodeTTL: DefaultNodeTTL,
		}},
		{"everything", `cluster {
  urls      = ["nats://n1:4222", "tls://n2:4222"]
  creds_env = "NATS_CREDS"
  node      = "web-1"
  prefix    = "blog"
  replicas  = 3
  lease_ttl = "30s"
  node_ttl  = 5
}`, Cluster{
			URLs: []string{"nats://n1:4222", "tls://n2:4222"}, CredsEnv: "NATS_CREDS", Node: "web-1",
			Prefix: "blog", Replicas: 3, LeaseTTL: 30 * time.Second, NodeTTL: 5 * time.Second,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseValid(t, base+tt.src).Cluster
			if c == nil {
				t.Fatal("Cluster = nil")
			}
			c.Pos = Pos{}
			if !reflect.DeepEqual(*c, tt.want) {
				t.Errorf("Cluster =\n%+v, want\n%+v", *c, tt.want)
			}
		})
	}
}

func TestClusterNodeName(t *testing.T) {
	if n := (&Cluster{Node: "a"}).NodeName(); n != "a" {
		t.Errorf("NodeName = %q, want a", n)
	}
	if n := (&Cluster{}).NodeName(); n == "" || !isBucketName(n) {
		t.Errorf("NodeName from the hostname = %q, want a valid name", n)
	}
}
