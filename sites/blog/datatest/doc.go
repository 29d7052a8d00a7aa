// Package datatest proves, end to end, that data changes reach the example
// blog's pages: edits, new and deleted posts in data.json, a PostgreSQL
// UPDATE, a 10,000-post import into the kv source, and a data-source plugin
// killed with SIGKILL. Each test copies the real blog config (the root
// site.hcl or a variant under sites/blog, with only paths and revalidate
// rewritten) into a temp dir and runs `kiln serve` on it from a freshly
// built kiln binary: real Go renderers built to wasm, a Pebble store on
// disk, the built-in plugins as the engine's child processes, HTTP on
// loopback. Regenerations are counted from each page's history
// (GET /_kiln/inspect with the admin secret). The package has no code of
// its own.
//
//	go test ./sites/blog/datatest/                  # everything (~15 s warm)
//	go test -short ./sites/blog/datatest/           # without the 10,000-post import
//	go test -run '^$' -bench EventToFresh -benchtime 1000x ./sites/blog/datatest/
//	go test -run '^$' -bench Import10000 -benchtime 3x ./sites/blog/datatest/
//
// KILN_DATATEST_RACE_ENGINE=1 builds the engine with -race too;
// KILN_DATATEST_BIN=path runs a given kiln binary instead of building one.
// The PostgreSQL test needs the server at 127.0.0.1:5432 (user postgres,
// trust auth, database test); it skips without it, or fails when CI is set.
package datatest
