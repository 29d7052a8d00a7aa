#!/bin/sh
# Regenerates sdk/plugin/pb from the .proto files in this directory.
# Needs only Go: buf and the protoc plugins come from the Go module proxy.
set -eu
cd "$(dirname "$0")"
GOBIN="$(go env GOPATH)/bin"
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PATH="$GOBIN:$PATH" go run github.com/bufbuild/buf/cmd/buf@v1.75.0 lint
PATH="$GOBIN:$PATH" go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
