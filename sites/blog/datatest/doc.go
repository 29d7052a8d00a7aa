// Package datatest proves, end to end, that data changes reach the example
// blog's pages: edits, new and deleted posts in data.json, a PostgreSQL
// UPDATE, a 10,000-post import into the kv source, and a data-source plugin
// killed with SIGKILL. Each test opens the real blog (its site.hcl or a
// variant, with the real Go renderers built to wasm) in-process on a Pebble
// store in a temp dir, with the built-in plugins run as child processes of
// a freshly built kiln binary, and talks to it over HTTP on loopback.
// Regenerations are counted from the store's per-path history.
//
//	go test ./sites/blog/datatest/                  # everything (about a minute)
//	go test -short ./sites/blog/datatest/           # without the 10,000-post import
//	go test -run '^$' -bench . ./sites/blog/datatest/
//	go test -run '^$' -bench EventToFresh -benchtime 1000x ./sites/blog/datatest/
//
// The package has no code of its own.
package datatest
