// Package pb holds the generated wire types of the data-source protocol
// (sdk/proto/kiln/datasource/v1). It is internal: the SDK converts to and
// from its own Go types at the boundary. Regenerate with sdk/proto/generate.sh.
package pb
