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
		{name: "revalidate", summary: "regenerate paths or tags on the running server", run: runRevalidate},
		{name: "inspect", summary: "show a stored page's status, freshness, dependencies and history", run: runInspect},
		{name: "data", summary: "get, set, delete, import or export data-source items", run: runData},
		{name: "version", summary: "print the version", run: runVersion},
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
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-') {
		return runServe(args)
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage()
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(args[1:])
		}
	}
	usage()
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q", name)}
}

func usage() {
	fmt.Fprintf(os.Stderr, "Usage: kiln <command> [flags]\n\nWith no command, kiln serves ./site.hcl.\n\nCommands:\n")
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(os.Stderr, "  %-11s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(os.Stderr, "\nRun 'kiln <command> -h' for a command's flags.\n")
}
