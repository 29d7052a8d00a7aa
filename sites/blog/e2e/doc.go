// Package e2e holds the example blog's browser tests. They build the real
// kiln binary, serve a copy of the blog (or, for `kiln dev`, a one-page
// site) from it as a separate process, and drive Debian's headless
// Chromium against it with chromedp. The package has no code of its own.
//
//	go test ./sites/blog/e2e/            # needs /usr/bin/chromium
//	KILN_E2E_SCREENSHOTS=/tmp/shots go test ./sites/blog/e2e/ -v
package e2e
