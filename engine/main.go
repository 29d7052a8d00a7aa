// Command kiln is a page-rendering engine with incremental static
// regeneration: it serves pages rendered by WebAssembly renderers from a
// Pebble store, and regenerates them in the background when they go stale
// or their data changes.
//
// Each subcommand lives in its own file; only main turns an error into an
// exit code.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string) error
	hidden  bool
}

var commands []command

func init() {
	commands = []command{
		{name: "serve", summary: "build what is missing, prerender, and serve the site", run: runServe},
		{name: "dev", summary: "serve every page fresh, rebuild on change, reload the browser", run: runDev},
		{name: "build", summary: "build renderers and prerender every build-time path into the store", run: runBuild},
		{name: "validate", summary: "check site.hcl and print every problem", run: runValidate},
		{name: "routes", summary: "print the route table", run: runRoutes},
		{name: "revalidate", summary: "regenerate paths or tags on the running engine", run: runRevalidate},
		{name: "inspect", summary: "show a stored page's status, freshness, dependencies and history", run: runInspect},
		{name: "data", summary: "get, set, delete, import or export data-source items", run: runData},
		{name: "cluster", summary: "cluster status: the live nodes and their replication lag", run: runCluster},
		{name: "version", summary: "print the version", run: runVersion},
		{name: "help", summary: "list the commands, or show one command's flags", run: runHelp},
		{name: "plugin", summary: "run a built-in data-source plugin (used by the engine)", run: runPlugin, hidden: true},
	}
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() { os.Exit(exitCode(run(os.Args[1:]))) }

// exitCode prints err and turns it into the process's exit code.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	code := 1
	if errors.As(err, &ee) {
		code = ee.code
	}
	if err.Error() != "" {
		fmt.Fprintln(os.Stderr, "kiln:", err)
	}
	return code
}

func run(args []string) error {
	if len(args) == 0 {
		return runServe(args)
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:])
	case "-version", "--version":
		return runVersion(args[1:])
	default:
		if name[0] == '-' { // `kiln --listen :4000` is `kiln serve --listen :4000`
			return runServe(args)
		}
		if c := lookup(name); c != nil {
			return c.run(args[1:])
		}
	}
	usage(os.Stderr)
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// runHelp is `kiln help [COMMAND]`: the command list, or one command's
// usage and flags, on stdout.
func runHelp(args []string) error {
	if len(args) == 0 {
		usage(os.Stdout)
		return nil
	}
	c := lookup(args[0])
	if c == nil || c.hidden {
		usage(os.Stderr)
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
	}
	return c.run([]string{"-h"})
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: kiln [command] [flags] [arguments]\n\nWith no command, kiln serves ./site.hcl (kiln serve).\n\nCommands:\n")
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'kiln help <command>' or 'kiln <command> -h' for a command's flags.\n'kiln --version' prints the version.\n")
}
