// Package pb holds the generated wire types of the data-source protocol
// (sdk/proto/kiln/datasource/v1), shared by the plugin side (this SDK's
// Serve) and the Kiln engine's host. Plugin authors do not use it: the SDK
// converts to and from its own Go types at the boundary. It follows the
// .proto's compatibility rules, not the SDK's API. Regenerate with
// sdk/proto/generate.sh.
package pb
