module github.com/kilnhq/kiln/sdk/go

// 1.24: a renderer is built with -buildmode=c-shared for wasip1 and
// exports the ABI version with //go:wasmexport, both new in Go 1.24.
go 1.24.0
