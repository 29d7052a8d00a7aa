package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/kilnhq/kiln/engine/internal/builtin"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/site"
	"github.com/kilnhq/kiln/engine/internal/store"
)

func runData(args []string) error {
	fs := newFlagSet("data", "[--config site.hcl] [--store DIR] [--source NAME] get KEY | set KEY VALUE | delete KEY | import FILE | export",
		"Read and write data-source items. Goes through the running engine (the admin\nsocket in the store folder, with no secret), or straight to the data source when\nno engine runs. VALUE '-' reads stdin; put \"--\" before a VALUE that starts with '-'.")
	var sf siteFlags
	sf.register(fs, false)
	source := fs.String("source", "", "the data source `name` (default: the only one)")
	base := fs.String("url", "", "the engine's `URL`, over HTTP with the admin secret (default: the admin socket, then site.hcl's listen)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("give a data command")}
	}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	name, err := pickSource(cfg, *source)
	if err != nil {
		return err
	}
	op, rest := fs.Arg(0), fs.Args()[1:]
	d := dataTarget{client: newAdminClient(cfg, *base), cfg: cfg, source: name}
	defer d.close()
	return d.run(op, rest)
}

func pickSource(cfg *config.Site, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if len(cfg.DataSources) != 1 {
		return "", &exitError{code: 2, err: fmt.Errorf("there are %d data sources: choose one with --source", len(cfg.DataSources))}
	}
	return cfg.DataSources[0].Name, nil
}

// dataTarget runs data commands against the engine, or the plugin itself.
type dataTarget struct {
	client *adminClient
	cfg    *config.Site
	source string
	sup    *datasource.Supervisor
}

func (d *dataTarget) close() {
	if d.sup != nil {
		d.sup.Close()
	}
}

func (d *dataTarget) run(op string, args []string) error {
	need := map[string]int{"get": 1, "set": 2, "delete": 1, "import": 1, "export": 0}
	n, ok := need[op]
	if !ok || len(args) != n {
		return &exitError{code: 2, err: fmt.Errorf("usage: kiln data get KEY | set KEY VALUE | delete KEY | import FILE | export")}
	}
	out, err := d.viaEngine(op, args)
	if errors.Is(err, errNotRunning) {
		out, err = d.viaPlugin(op, args)
	}
	if err != nil {
		return err
	}
	return printJSON(out)
}

func (d *dataTarget) viaEngine(op string, args []string) (any, error) {
	base := "/_kiln/data/" + url.PathEscape(d.source)
	var out any
	switch op {
	case "get":
		return out, d.client.do("GET", base+"?key="+url.QueryEscape(args[0]), nil, &out)
	case "set":
		v, err := value(args[1])
		if err != nil {
			return nil, err
		}
		return out, d.client.do("PUT", base+"?key="+url.QueryEscape(args[0]), v, &out)
	case "delete":
		return out, d.client.do("DELETE", base+"?key="+url.QueryEscape(args[0]), nil, &out)
	case "import":
		b, err := os.ReadFile(args[0])
		if err != nil {
			return nil, err
		}
		return out, d.client.do("POST", base+"/import", b, &out)
	}
	return out, d.client.do("GET", base+"/export", nil, &out)
}

// viaPlugin starts the data source's plugin and talks to it directly.
func (d *dataTarget) viaPlugin(op string, args []string) (any, error) {
	var ds []*config.DataSource
	for _, s := range d.cfg.DataSources {
		if s.Name == d.source {
			ds = append(ds, s)
		}
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("no data source %q", d.source)
	}
	sup, err := datasource.Start(context.Background(), ds, datasource.Options{
		Logger: newLogger(io.Discard), Executable: executable(), Builtins: builtin.Names(), Revisions: &memMeta{},
	})
	if err != nil {
		return nil, err
	}
	d.sup = sup
	a := site.DataAdmin{Plugins: sup}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	switch op {
	case "get":
		v, found, err := a.Get(ctx, d.source, args[0])
		if err == nil && !found {
			err = fmt.Errorf("no key %q", args[0])
		}
		return json.RawMessage(v), err
	case "set":
		v, err := value(args[1])
		if err != nil {
			return nil, err
		}
		rev, err := a.Put(ctx, d.source, args[0], v)
		return map[string]uint64{"revision": rev}, err
	case "delete":
		rev, err := a.Delete(ctx, d.source, args[0])
		return map[string]uint64{"revision": rev}, err
	case "import":
		items, err := readItems(args[0])
		if err != nil {
			return nil, err
		}
		n, err := a.Import(ctx, d.source, items)
		return map[string]int{"imported": n}, err
	}
	return a.Export(ctx, d.source)
}

// value reads a VALUE argument: '-' is stdin; anything not JSON is a string.
func value(arg string) ([]byte, error) {
	b := []byte(arg)
	if arg == "-" {
		var err error
		if b, err = io.ReadAll(os.Stdin); err != nil {
			return nil, err
		}
	}
	if json.Valid(b) {
		return b, nil
	}
	return json.Marshal(string(b))
}

func readItems(file string) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var items map[string]json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of key to value: %w", file, err)
	}
	return items, nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// memMeta keeps no revisions: a one-off `kiln data` call does not watch.
type memMeta struct{ m map[string][]byte }

func (m *memMeta) GetMeta(k string) ([]byte, error) {
	if v, ok := m.m[k]; ok {
		return v, nil
	}
	return nil, store.ErrNotFound
}

func (m *memMeta) SetMeta(k string, v []byte) error {
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[k] = v
	return nil
}
