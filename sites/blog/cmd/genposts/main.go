// Command genposts writes blog posts for the example blog, for load tests
// and for the sample data:
//
//	go run ./sites/blog/cmd/genposts -n 10000 -format json -o /tmp/posts.json
//	go run ./sites/blog/cmd/genposts -n 10000 -format kv-import -o /tmp/posts-kv.json
//	go run ./sites/blog/cmd/genposts -n 10000 -format markdown -o /tmp/posts/
//	go run ./sites/blog/cmd/genposts -from sites/blog/data.json -format markdown -o sites/blog/posts
//
// The json and kv-import formats are the same JSON object of key to value:
// the jsonfile plugin serves it, the kv plugin imports it. Every post is
// written with its date-index key (see package post). The markdown format
// writes one file per post; the markdown plugin derives the keys.
// Output is deterministic for a given -seed and -newest.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "genposts:", err)
		os.Exit(2)
	}
}

type options struct {
	n      int
	format string
	out    string
	from   string
	seed   uint64
	newest time.Time
}

func parseFlags(args []string) (options, error) {
	var o options
	var newest string
	fs := flag.NewFlagSet("genposts", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 1000, "number of posts to generate")
	fs.StringVar(&o.format, "format", "json", "output format: json, kv-import (the same JSON object) or markdown")
	fs.StringVar(&o.out, "o", "-", "output file (json, kv-import; - is stdout) or directory (markdown)")
	fs.StringVar(&o.from, "from", "", "convert the posts of this JSON data file instead of generating")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.StringVar(&newest, "newest", "2026-01-01T00:00:00Z", "date of the newest generated post; each next one is an hour older")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	t, err := post.ParseDate(newest)
	o.newest = t
	return o, err
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	posts, err := source(o)
	if err != nil {
		return err
	}
	switch o.format {
	case "json", "kv-import":
		return toFile(o.out, func(f *os.File) error { return writeJSON(f, posts) })
	case "markdown":
		return writeMarkdownDir(o.out, posts)
	}
	return fmt.Errorf("unknown format %q (want json, kv-import or markdown)", o.format)
}

// posts calls yield for every post to write, stopping at the first error.
type posts func(yield func(post.Post) error) error

// source yields the posts to write: read from -from, or generated.
func source(o options) (posts, error) {
	if o.from != "" {
		list, err := readDataFile(o.from)
		if err != nil {
			return nil, err
		}
		return func(yield func(post.Post) error) error {
			for _, p := range list {
				if err := yield(p); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	if o.n < 0 {
		return nil, errors.New("-n must not be negative")
	}
	g := newGenerator(o.seed, o.newest)
	return func(yield func(post.Post) error) error {
		for i := range o.n {
			if err := yield(g.post(i)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// toFile runs write on the named file, or stdout for "-".
func toFile(name string, write func(*os.File) error) error {
	if name == "-" || name == "" {
		return write(os.Stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
