//go:build !unix

package render

import "context"

// withMappedMemory leaves wazero's heap-backed memory where mappings are
// not available.
func withMappedMemory(ctx context.Context) context.Context { return ctx }
