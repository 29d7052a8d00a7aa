package datasource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/pluginhost"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// defaultStartTimeout applies when DataSource.StartTimeout is zero.
const defaultStartTimeout = 10 * time.Second

// conn is one running plugin process.
type conn struct {
	client *goplugin.Client
	rpc    goplugin.ClientProtocol
	src    *pluginhost.Client
	caps   plugin.Capabilities
	pid    int

	stopWatch context.CancelFunc // nil without a watch
	watchErr  chan error         // the watch's end; nil without a watch
}

// Timeouts for a plugin that stopped answering.
const (
	pingTimeout = 2 * time.Second
	killTimeout = 3 * time.Second // on top of go-plugin's 2s graceful wait
)

// kill stops the process, gracefully if it answers: go-plugin asks it to
// shut down, waits, then kills it. A process too stuck to answer the
// shutdown request is killed after killTimeout.
func (c *conn) kill() {
	if c.stopWatch != nil {
		c.stopWatch()
	}
	done := make(chan struct{})
	go func() {
		c.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killTimeout):
		c.abort()
		<-done
	}
}

// abort kills the process at once (SIGKILL), for a plugin found dead or
// stuck, then lets go-plugin clean up.
func (c *conn) abort() {
	if c.stopWatch != nil {
		c.stopWatch()
	}
	if p, err := os.FindProcess(c.pid); err == nil && c.pid > 0 {
		p.Kill()
	}
	c.client.Kill()
}

// ping asks the plugin's gRPC health service whether it is serving.
func (c *conn) ping(ctx context.Context) error {
	g, ok := c.rpc.(*goplugin.GRPCClient)
	if !ok {
		return c.rpc.Ping()
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	r, err := healthpb.NewHealthClient(g.Conn).Check(ctx, &healthpb.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		return err
	}
	if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: %s", r.GetStatus())
	}
	return nil
}

// command builds the plugin's command line: a built-in plugin re-runs the
// engine binary as `<exe> plugin <name>`. It runs in the directory of
// site.hcl, so relative paths in its config mean what they say there.
func command(ds *config.DataSource, exe string, builtins []string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	switch {
	case ds.Plugin != "" && !slices.Contains(builtins, ds.Plugin):
		return nil, fatalError{fmt.Errorf("%w built-in plugin %q (have: %s)", ErrUnknown, ds.Plugin, strings.Join(builtins, ", "))}
	case ds.Plugin != "" && exe == "":
		return nil, fatalError{errors.New("no engine executable to run built-in plugins")}
	case ds.Plugin != "":
		cmd = exec.Command(exe, "plugin", ds.Plugin)
	case ds.Command != "":
		cmd = exec.Command(ds.Command, ds.Args...)
	default:
		return nil, fatalError{errors.New("neither plugin nor command is set")}
	}
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	if ds.Pos.File != "" {
		cmd.Dir = filepath.Dir(ds.Pos.File)
	}
	cmd.Env = passEnv(ds.Env)
	return cmd, nil
}

// passEnv keeps only the named variables of the engine's environment.
// go-plugin adds its own (cookie, protocol versions, ports).
func passEnv(names []string) []string {
	env := []string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// launch starts the plugin process, negotiates the protocol and asks for
// its capabilities, all within timeout. It does not configure it. With a
// sha256 in site.hcl, what runs is a private copy of the executable whose
// bytes were checked as they were copied.
func (in *instance) launch(ctx context.Context, timeout time.Duration) (*conn, error) {
	cmd, err := command(in.cfg, in.sup.opts.Executable, in.sup.opts.Builtins)
	if err != nil {
		return nil, err
	}
	if in.cfg.SHA256 != "" {
		copied, err := in.sup.run.verifiedCopy(cmd.Path, in.cfg.SHA256)
		if err != nil {
			return nil, err
		}
		defer os.Remove(copied) // the running process keeps its inode
		cmd.Path = copied
		if in.sup.opts.afterVerify != nil {
			in.sup.opts.afterVerify()
		}
	}
	cmd.Env = append(cmd.Env, goplugin.EnvUnixSocketDir+"="+in.sup.run.sockets())
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: pluginhost.VersionedPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     timeout,
		Logger:           newHCLogger(in.log, filepath.Base(cmd.Args[0])),
		Stderr:           &stderrLog{log: in.log},
		GRPCDialOptions:  pluginhost.DialOptions(),
	})
	c, err := dispense(ctx, client)
	if err != nil {
		client.Kill()
		return nil, err
	}
	return c, nil
}

func dispense(ctx context.Context, client *goplugin.Client) (*conn, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("start plugin: %w", err)
	}
	raw, err := rpc.Dispense(plugin.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense: %w", err)
	}
	src, ok := raw.(*pluginhost.Client)
	if !ok {
		return nil, fmt.Errorf("dispense: unexpected %T", raw)
	}
	caps, err := src.FetchCapabilities(ctx)
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	pid, _ := strconv.Atoi(client.ID())
	return &conn{client: client, rpc: rpc, src: src, caps: caps, pid: pid}, nil
}
