package plugin

import (
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// stderr is captured at start-up: go-plugin later replaces os.Stderr with a
// pipe the host may not read.
var stderr = os.Stderr

var (
	loggerOnce sync.Once
	logger     hclog.Logger
)

// Logger returns the plugin's logger. It writes JSON lines to stderr, which
// the engine merges into its own log under the data source's name.
func Logger() hclog.Logger {
	loggerOnce.Do(func() {
		logger = hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Debug,
			Output:     stderr,
			JSONFormat: true,
		})
	})
	return logger
}

// parentPoll is how often a serving plugin checks that the engine is alive.
const parentPoll = 500 * time.Millisecond

// Serve serves src to the Kiln engine and blocks until the engine stops the
// plugin. It exits the process when the engine dies without stopping it
// (the plugin is reparented), so a crashed engine leaves no orphans.
// Nothing may be written to stdout before Serve: stdout carries the
// handshake.
func Serve(src Source) {
	go exitWithParent(os.Getppid())
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(src),
		GRPCServer:       newGRPCServer,
		Logger:           Logger(),
	})
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))
	return grpc.NewServer(opts...)
}

// exitWithParent exits the process once its parent changes, which on Unix
// means the engine died and the plugin was reparented.
func exitWithParent(ppid int) {
	for range time.Tick(parentPoll) {
		if os.Getppid() != ppid {
			Logger().Warn("engine exited; stopping plugin", "engine_pid", ppid)
			os.Exit(0)
		}
	}
}
