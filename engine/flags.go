package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kilnhq/kiln/engine/internal/config"
)

// siteFlags are the flags shared by the commands that read site.hcl.
type siteFlags struct {
	config, listen, store, nats string
}

func (f *siteFlags) register(fs *flag.FlagSet, listen bool) {
	fs.StringVar(&f.config, "config", "site.hcl", "the site config `file`")
	fs.StringVar(&f.store, "store", "", "the page store `dir` (overrides site.hcl)")
	if listen {
		fs.StringVar(&f.listen, "listen", "", "the `address` to listen on (overrides site.hcl)")
	}
}

// registerNATS adds --nats, which turns cluster mode on (serve, build).
func (f *siteFlags) registerNATS(fs *flag.FlagSet) {
	fs.StringVar(&f.nats, "nats", "", "NATS server `URLs`, comma-separated: run as a node of a cluster (overrides site.hcl's cluster urls)")
}

// load reads and validates the config, then applies flag overrides.
func (f *siteFlags) load() (*config.Site, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.nats != "" {
		urls := strings.Split(f.nats, ",")
		for _, u := range urls {
			if msg := config.CheckNATSURL(u); msg != "" {
				return nil, &exitError{code: 2, err: fmt.Errorf("--nats: %s", msg)}
			}
		}
		if cfg.Cluster == nil {
			cfg.Cluster = config.DefaultCluster(urls)
		} else {
			cfg.Cluster.URLs = urls
		}
	}
	if f.store != "" {
		abs, err := filepath.Abs(f.store)
		if err != nil {
			return nil, err
		}
		cfg.StoreDir = abs
	}
	return cfg, nil
}

// parseLoad parses a command's flags, then loads the config.
func (f *siteFlags) parseLoad(fs *flag.FlagSet, args []string) (*config.Site, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return f.load()
}

// newFlagSet makes a subcommand's flag set with a usage line.
func newFlagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n", strings.TrimSpace("kiln "+name+" "+args), summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags, mapping -h to a clean exit and bad flags to exit 2.
// Flags may come before, between or after the positional arguments
// (`kiln inspect /x --json`); after "--" every argument is positional.
// fs.Args() is then the positional arguments alone. Help that was asked
// for goes to stdout; help after a mistake goes to stderr.
func parse(fs *flag.FlagSet, args []string) error {
	if wantsHelp(args) {
		fs.SetOutput(os.Stdout)
	}
	var pos []string
	for {
		err := fs.Parse(args)
		if err == flag.ErrHelp {
			return &exitError{code: 0, err: errors.New("")}
		}
		if err != nil {
			return &exitError{code: 2, err: errors.New("")}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...) // "--" ends the flags
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...)) // fs.Args() = pos
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// newLogger is the engine's structured log: text on stderr, level from
// KILN_LOG (debug, info, warn, error).
func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv("KILN_LOG")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// executable is how to run this binary again, for built-in plugins. It
// keeps the name it was started under (a test harness may dispatch on it)
// and falls back to os.Executable.
func executable() string {
	if strings.ContainsRune(os.Args[0], filepath.Separator) {
		if p, err := filepath.Abs(os.Args[0]); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
