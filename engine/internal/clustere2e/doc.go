// Package clustere2e holds the end-to-end test of cluster mode: three
// nats-server processes and several `kiln serve` processes on loopback,
// driven as a person drives them. It has no code outside its tests; it is
// a package of its own so that its minutes count against a test binary
// of their own.
package clustere2e
