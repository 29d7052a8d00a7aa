package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// TestOverProcess drives every call of the protocol against the kv plugin
// as a real process: values spanning several List chunks, the plugin's own
// errors as diagnostics, and the end of a cancelled Watch.
func TestOverProcess(t *testing.T) {
	c, err := dial(t, "kv", VersionedPlugins())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true, Writable: true}); got != want {
		t.Errorf("Capabilities = %+v, want %+v", got, want)
	}
	if s := c.Schema(); len(s.Attributes) != 1 || s.Attributes[0].Name != "dir" || s.Attributes[0].Type != plugin.TypeString || !s.Attributes[0].Required {
		t.Errorf("Schema = %+v", s)
	}
	ds := c.Configure(ctx, []byte(`{}`))
	if !ds.HasErrors() || ds[0].Attribute != "dir" || ds[0].Summary != "missing required attribute" {
		t.Errorf("Configure({}) = %+v, want an error on dir", ds)
	}
	if ds := c.Configure(ctx, []byte(fmt.Sprintf(`{"dir":%q}`, t.TempDir()))); ds != nil {
		t.Fatalf("Configure = %v", ds)
	}

	w := watch(t, c, 0)
	if ev := w.next(t); !ev.Bookmark || ev.Revision != 0 {
		t.Errorf("first event = %+v, want a bookmark at 0", ev)
	}
	big := bytes.Repeat([]byte("x"), 700<<10) // three of these span several List chunks
	for _, k := range []string{"a", "b", "c"} {
		if _, err := c.Put(ctx, "big/"+k, big); err != nil {
			t.Fatal(err)
		}
	}
	if rev, err := c.Delete(ctx, "big/b"); err != nil || rev != 4 {
		t.Errorf("Delete = %d, %v; want 4", rev, err)
	}
	for i, want := range []plugin.Event{{Revision: 1, Key: "big/a", Value: big}, {Revision: 2, Key: "big/b", Value: big}, {Revision: 3, Key: "big/c", Value: big}, {Revision: 4, Key: "big/b", Deleted: true}} {
		ev := w.next(t)
		if ev.Revision != want.Revision || ev.Key != want.Key || ev.Deleted != want.Deleted || !bytes.Equal(ev.Value, want.Value) {
			t.Errorf("event %d = %d %s deleted=%v (%d bytes), want %+v", i, ev.Revision, ev.Key, ev.Deleted, len(ev.Value), want.Key)
		}
	}

	page, err := c.List(ctx, plugin.ListRequest{Prefix: "big/", Limit: 5})
	if err != nil || len(page.Items) != 2 || page.Items[1].Key != "big/c" || !bytes.Equal(page.Items[1].Value, big) || page.Next != "" {
		t.Errorf("List = %d items, next %q, %v", len(page.Items), page.Next, err)
	}
	if got, want := listPages(t, c, "big/", 1, true), [][]string{{"big/c"}, {"big/a"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("reverse pages = %q, want %q", got, want)
	}
	it, found, err := c.Get(ctx, "big/a")
	if err != nil || !found || !bytes.Equal(it.Value, big) || it.Revision != 1 {
		t.Errorf("Get(big/a) found=%v rev=%d err=%v", found, it.Revision, err)
	}
	if _, found, err := c.Get(ctx, "nope"); found || err != nil {
		t.Errorf("Get(nope) = %v, %v", found, err)
	}
	_, err = c.List(ctx, plugin.ListRequest{Cursor: "bogus"})
	var diags plugin.Diagnostics
	if !errors.As(err, &diags) || !strings.Contains(diags[0].Summary, "invalid cursor") || errors.Is(err, ErrTransport) {
		t.Errorf("List(bad cursor) err = %v, want the plugin's diagnostic", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	_, err := dial(t, "kv", map[int]goplugin.PluginSet{plugin.ProtocolVersion + 1: VersionedPlugins()[plugin.ProtocolVersion]})
	if err == nil || !strings.Contains(err.Error(), "incompatible API version") {
		t.Fatalf("err = %v, want an incompatible version error", err)
	}
}

// TestTransportError: a call to a plugin that has gone wraps ErrTransport.
func TestTransportError(t *testing.T) {
	c := start(t, "kv", fmt.Sprintf(`{"dir":%q}`, t.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx, "a"); !errors.Is(err, ErrTransport) {
		t.Errorf("Get on a cancelled call: err = %v, want ErrTransport", err)
	}
}
