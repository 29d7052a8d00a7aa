package post

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// mapSource is an in-memory Source with a data source's listing rules:
// byte order, prefix, cursor = the last key returned.
type mapSource struct {
	data  map[string]string
	reads []string // every Get and List call, for cost checks
}

func (m *mapSource) Get(key string) ([]byte, bool, error) {
	m.reads = append(m.reads, "get "+key)
	v, ok := m.data[key]
	return []byte(v), ok, nil
}

func (m *mapSource) GetMany(keys []string) ([][]byte, []bool, error) {
	m.reads = append(m.reads, "getmany "+strings.Join(keys, " "))
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		v, ok := m.data[k]
		values[i], found[i] = []byte(v), ok
	}
	return values, found, nil
}

func (m *mapSource) List(prefix, cursor string, limit int, reverse bool) ([]Item, string, error) {
	m.reads = append(m.reads, "list "+prefix)
	var keys []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	if cursor != "" {
		i := slices.Index(keys, cursor)
		keys = keys[i+1:]
	}
	next := ""
	if len(keys) > limit {
		keys, next = keys[:limit], keys[limit-1]
	}
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = Item{k, []byte(m.data[k])}
	}
	return items, next, nil
}

func date(s string) time.Time {
	t, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// put stores a post and its index entry.
func put(m *mapSource, slug, day string) {
	p := Post{Slug: slug, Title: "Title " + slug, Date: date(day)}
	b, err := p.MarshalJSON()
	if err != nil {
		panic(err)
	}
	m.data[Key(slug)] = string(b)
	m.data[IndexKey(p.Date, slug)] = string(IndexValue(slug))
}

func slugs(ps []Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Slug
	}
	return out
}

func TestNewest(t *testing.T) {
	m := &mapSource{data: map[string]string{}}
	put(m, "a", "2026-01-01")
	put(m, "b", "2026-01-03")
	put(m, "c", "2026-01-02")
	put(m, "d", "2026-01-04")
	// "d" was deleted: its index entry is left behind.
	delete(m.data, Key("d"))
	// "c" was moved to a new date: its old index entry is stale.
	put(m, "c", "2026-01-09")
	tests := []struct {
		n    int
		want []string
	}{
		{0, nil},
		{1, []string{"c"}},
		{2, []string{"c", "b"}},
		{10, []string{"c", "b", "a"}},
	}
	for _, tt := range tests {
		got, err := Newest(m, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(slugs(got), tt.want) {
			t.Errorf("Newest(%d) = %v, want %v", tt.n, slugs(got), tt.want)
		}
	}
}

// TestNewestCost checks the home page's cost does not grow with the blog:
// with 5000 posts, the 3 newest take one listing and one batched read of
// three posts.
func TestNewestCost(t *testing.T) {
	m := &mapSource{data: map[string]string{}}
	start := date("2020-01-01")
	for i := range 5000 {
		put(m, fmt.Sprintf("p%04d", i), start.Add(time.Duration(i)*time.Hour).Format(DateLayout))
	}
	got, err := Newest(m, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p4999", "p4998", "p4997"}; !slices.Equal(slugs(got), want) {
		t.Errorf("Newest = %v, want %v", slugs(got), want)
	}
	want := []string{"list " + IndexPrefix, "getmany post:p4999 post:p4998 post:p4997"}
	if !slices.Equal(m.reads, want) {
		t.Errorf("Newest made reads %q, want %q", m.reads, want)
	}
}

func TestNewestSlugs(t *testing.T) {
	m := &mapSource{data: map[string]string{}}
	put(m, "old", "2025-01-01")
	put(m, "hello-world", "2026-03-18")
	put(m, "preview", "2026-03-17")
	got, err := NewestSlugs(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"hello-world", "preview"}; !slices.Equal(got, want) {
		t.Errorf("NewestSlugs = %v, want %v", got, want)
	}
}

func TestAllSlugs(t *testing.T) {
	indexed := &mapSource{data: map[string]string{}}
	for i := range 2500 {
		put(indexed, fmt.Sprintf("p%05d", i), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i)*time.Hour).Format(time.RFC3339))
	}
	// A stale index entry (the post moved to another date) names a slug
	// already seen: it must not be listed twice.
	indexed.data[IndexKey(date("2020-01-01"), "p00001")] = string(IndexValue("p00001"))
	unindexed := &mapSource{data: map[string]string{
		Key("b"): `{"slug":"b","title":"B","date":"2026-03-18"}`,
		Key("a"): `{"slug":"a","title":"A","date":"2026-03-19"}`,
	}}
	tests := []struct {
		name      string
		src       *mapSource
		wantN     int
		wantFirst []string
		wantReads int
	}{
		{"date index, newest first, paged", indexed, 2500, []string{"p00000", "p00001", "p00002"}, 3},
		{"no index: post keys", unindexed, 2, []string{"b", "a"}, 2},
		{"empty", &mapSource{data: map[string]string{}}, 0, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.reads = nil
			got, err := AllSlugs(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN || !slices.Equal(got[:len(tt.wantFirst)], tt.wantFirst) {
				t.Errorf("AllSlugs = %d slugs starting %v, want %d starting %v", len(got), got[:min(3, len(got))], tt.wantN, tt.wantFirst)
			}
			for _, r := range tt.src.reads {
				if strings.HasPrefix(r, "get ") {
					t.Fatalf("AllSlugs read a post: %s", r)
				}
			}
			if len(tt.src.reads) != tt.wantReads {
				t.Errorf("AllSlugs made %d listings, want %d", len(tt.src.reads), tt.wantReads)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	m := &mapSource{data: map[string]string{
		Key("ok"):     `{"slug":"ok","title":"OK","date":"2026-03-18T09:00:00Z","author":"Mara"}`,
		Key("broken"): `{"slug":"broken"`,
	}}
	tests := []struct {
		slug      string
		wantFound bool
		wantErr   bool
	}{
		{"ok", true, false},
		{"missing", false, false},
		{"../etc", false, false},
		{"broken", false, true},
	}
	for _, tt := range tests {
		_, found, err := Load(m, tt.slug)
		if found != tt.wantFound || (err != nil) != tt.wantErr {
			t.Errorf("Load(%q) = found %v, err %v; want found %v, err %v", tt.slug, found, err, tt.wantFound, tt.wantErr)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		want     Post
		wantErr  bool
	}{
		{"object author", `{"slug":"a","title":"A","date":"2026-03-18T09:00:00Z","author":{"name":"Mara","picture":"m.svg"}}`,
			Post{Slug: "a", Title: "A", Date: date("2026-03-18T09:00:00Z"), Author: Author{"Mara", "m.svg"}}, false},
		{"string author, bare date", `{"slug":"a","title":"A","date":"2026-03-18","author":"Theo"}`,
			Post{Slug: "a", Title: "A", Date: date("2026-03-18"), Author: Author{Name: "Theo"}}, false},
		{"offset date is UTC", `{"slug":"a","title":"A","date":"2026-03-18T11:00:00+02:00"}`,
			Post{Slug: "a", Title: "A", Date: date("2026-03-18T09:00:00Z")}, false},
		{"fraction dropped", `{"slug":"a","title":"A","date":"2026-03-18T09:00:00.75Z"}`,
			Post{Slug: "a", Title: "A", Date: date("2026-03-18T09:00:00Z")}, false},
		{"no title", `{"slug":"a","title":" ","date":"2026-03-18"}`, Post{}, true},
		{"bad slug", `{"slug":"a b","title":"A","date":"2026-03-18"}`, Post{}, true},
		{"slash in slug", `{"slug":"a/b","title":"A","date":"2026-03-18"}`, Post{}, true},
		{"bad date", `{"slug":"a","title":"A","date":"yesterday"}`, Post{}, true},
		{"not json", `nope`, Post{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want it to wrap ErrInvalid", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	p := Post{Slug: "a", Title: "<A & B>", Date: date("2026-03-18T09:00:00Z"), Author: Author{"Mara", "m.svg"}, Content: "x < y"}
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"title":"<A & B>"`) {
		t.Errorf("MarshalJSON escaped HTML: %s", b)
	}
	got, err := Decode(b)
	if err != nil || got != p {
		t.Errorf("Decode(MarshalJSON(p)) = %+v, %v; want %+v", got, err, p)
	}
}

func TestIndexKey(t *testing.T) {
	d := date("2026-03-18T11:00:00+02:00")
	key := IndexKey(d, "hello-world")
	if want := "bydate:2026-03-18T09:00:00Z:hello-world"; key != want {
		t.Errorf("IndexKey = %q, want %q", key, want)
	}
	gotDate, gotSlug, ok := ParseIndexKey(key)
	if !ok || !gotDate.Equal(d) || gotSlug != "hello-world" {
		t.Errorf("ParseIndexKey(%q) = %v, %q, %v", key, gotDate, gotSlug, ok)
	}
	for _, bad := range []string{"", "bydate:", "post:x", "bydate:2026-03-18T09:00:00Z", "bydate:2026-03-18T09:00:00Z:", "bydate:2026-03-18T09:00:00Zxhello", "bydate:2026-13-18T09:00:00Z:a", "bydate:2026-03-18T09:00:00Z:a b"} {
		if _, _, ok := ParseIndexKey(bad); ok {
			t.Errorf("ParseIndexKey(%q) ok, want not ok", bad)
		}
	}
}

func FuzzParseIndexKey(f *testing.F) {
	f.Add("bydate:2026-03-18T09:00:00Z:hello-world")
	f.Add("bydate:2026-03-18T09:00:00Z:")
	f.Fuzz(func(t *testing.T, key string) {
		d, slug, ok := ParseIndexKey(key)
		if ok && IndexKey(d, slug) != key {
			t.Errorf("IndexKey(ParseIndexKey(%q)) = %q", key, IndexKey(d, slug))
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"slug":"a","title":"A","date":"2026-03-18","author":{"name":"M"}}`))
	f.Add([]byte(`{"slug":"a","title":"A","date":"2026-03-18T09:00:00Z","author":"M"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		again, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Decode(again)
		if err != nil || q != p {
			t.Errorf("round trip of %q: got %+v, %v; want %+v", b, q, err, p)
		}
	})
}

// TestNewestWithoutIndex covers sources that serve only "post:" keys, like
// the markdown plugin: the home page scans them instead.
func TestNewestWithoutIndex(t *testing.T) {
	m := &mapSource{data: map[string]string{
		Key("old"):   `{"slug":"old","title":"Old","date":"2025-01-01","author":"Mara"}`,
		Key("new"):   `{"slug":"new","title":"New","date":"2026-03-18T09:00:00Z","author":"Mara"}`,
		Key("mid-b"): `{"slug":"mid-b","title":"Mid","date":"2026-01-01"}`,
		Key("mid-a"): `{"slug":"mid-a","title":"Mid","date":"2026-01-01"}`,
	}}
	got, err := Newest(m, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"new", "mid-a", "mid-b"}; !slices.Equal(slugs(got), want) {
		t.Errorf("Newest = %v, want %v", slugs(got), want)
	}
	paths, err := NewestSlugs(m, 2)
	if want := []string{"new", "mid-a"}; err != nil || !slices.Equal(paths, want) {
		t.Errorf("NewestSlugs = %v, %v; want %v", paths, err, want)
	}
}

func TestParseIndexDate(t *testing.T) {
	for _, tc := range []struct {
		name, in string
	}{
		{"plain", "2026-03-18T09:00:00Z"},
		{"end of a leap day", "2024-02-29T23:59:59Z"},
		{"leap day of a century", "2000-02-29T00:00:00Z"},
		{"no leap day in 1900", "1900-02-29T00:00:00Z"},
		{"no leap day in 2026", "2026-02-29T00:00:00Z"},
		{"31 April", "2026-04-31T00:00:00Z"},
		{"31 December", "2026-12-31T00:00:00Z"},
		{"year 0", "0000-01-01T00:00:00Z"},
		{"month 0", "2026-00-10T00:00:00Z"},
		{"month 13", "2026-13-10T00:00:00Z"},
		{"day 0", "2026-01-00T00:00:00Z"},
		{"hour 24", "2026-01-01T24:00:00Z"},
		{"minute 60", "2026-01-01T00:60:00Z"},
		{"second 60", "2026-01-01T00:00:60Z"},
		{"an offset", "2026-01-01T00:00:00+"},
		{"a sign in a field", "2026-+1-01T00:00:00Z"},
		{"a space in a field", "2026-01- 1T00:00:00Z"},
		{"lowercase t", "2026-01-01t00:00:00Z"},
		{"short", "2026-01-01T00:00:0Z"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseIndexDate(tc.in)
			want, err := time.Parse(DateLayout, tc.in)
			if ok != (err == nil) || !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("parseIndexDate(%q) = %v, %v; time.Parse: %v, %v", tc.in, got, ok, want, err)
			}
		})
	}
}

func FuzzParseIndexDate(f *testing.F) {
	f.Add("2026-03-18T09:00:00Z")
	f.Add("2024-02-29T23:59:59Z")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) != len(DateLayout) {
			// ParseIndexKey passes exactly that many bytes; time.Parse
			// also takes a one-digit hour in a shorter string.
			return
		}
		got, ok := parseIndexDate(s)
		want, err := time.Parse(DateLayout, s)
		if ok != (err == nil) || !got.Equal(want) {
			t.Errorf("parseIndexDate(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
	})
}

func TestSlugFromValue(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"JSON string", `"hello-world"`, "hello-world"},
		{"spaces around", " \"hello-world\"\n", "hello-world"},
		{"empty JSON string", `""`, ""},
		{"markup characters", `"a<b>&c"`, "a<b>&c"},
		{"an escape", `"a\"b"`, `a"b`},
		{"a unicode escape", `"\u00e9t\u00e9"`, "été"},
		{"raw UTF-8", `"été"`, "été"},
		{"raw text", "hello-world", "hello-world"},
		{"unterminated", `"hello`, `"hello`},
		{"a lone quote", `"`, `"`},
		{"JSON that is not a string", `"a" "b"`, `"a" "b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slugFromValue([]byte(tc.in)); got != tc.want {
				t.Errorf("slugFromValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzSlugFromValue checks the shortcut for plain strings against
// encoding/json, which reads every other value.
func FuzzSlugFromValue(f *testing.F) {
	f.Add([]byte(`"hello-world"`))
	f.Add([]byte(`"a\"b"`))
	f.Fuzz(func(t *testing.T, v []byte) {
		want := string(bytes.TrimSpace(v))
		var s string
		if len(want) > 0 && want[0] == '"' && json.Unmarshal([]byte(want), &s) == nil {
			want = s
		}
		if got := slugFromValue(v); got != want {
			t.Errorf("slugFromValue(%q) = %q, want %q", v, got, want)
		}
	})
}
