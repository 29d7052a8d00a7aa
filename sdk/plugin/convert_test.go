package plugin

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kilnhq/kiln/sdk/plugin/internal/pb"
)

func TestErrToProto(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Diagnostics
	}{
		{"nil", nil, nil},
		{"plain", errors.New("boom"), Diagnostics{{Severity: SeverityError, Summary: "boom"}}},
		{"diagnostics", Diagnostics{{Severity: SeverityWarning, Summary: "w", Detail: "d", Attribute: "a"}}, Diagnostics{{Severity: SeverityWarning, Summary: "w", Detail: "d", Attribute: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromProtoDiags(errToProto(tt.err)); !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if err := diagsErr([]*pb.Diagnostic{{Severity: pb.Diagnostic_WARNING}}); err != nil {
		t.Errorf("warnings only: err = %v", err)
	}
	if err := diagsErr([]*pb.Diagnostic{{Severity: 7, Summary: "future"}}); err == nil {
		t.Error("unknown severity is not an error")
	}
}

// FuzzFromProto decodes arbitrary wire bytes as each response and checks
// that conversion never panics and is stable through a round trip.
func FuzzFromProto(f *testing.F) {
	seeds := []proto.Message{
		&pb.Watch_Response{Events: []*pb.Event{{Revision: 3, Key: "a", Value: []byte("1")}, {Revision: 4, Key: "b", Deleted: true, Value: []byte("x")}, {Revision: 5, Bookmark: true}}},
		&pb.Get_Response{Item: &pb.Item{Key: "k", Value: []byte(`{}`), Revision: 9}, Found: true, Diagnostics: []*pb.Diagnostic{{Severity: 2, Summary: "s"}}},
		&pb.Schema_Response{Attributes: []*pb.Schema_Attribute{{Name: "path", Type: "string", Required: true}, {Name: "x", Type: "map"}}},
		&pb.List_Response{Items: []*pb.Item{{Key: "a"}}, Next: "a"},
	}
	for _, m := range seeds {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var w pb.Watch_Response
		if proto.Unmarshal(b, &w) == nil {
			for _, e := range w.GetEvents() {
				ev := fromProtoEvent(e)
				if again := fromProtoEvent(toProtoEvent(ev)); again.Key != ev.Key || again.Revision != ev.Revision || !bytes.Equal(again.Value, ev.Value) || again.Deleted != ev.Deleted || again.Bookmark != ev.Bookmark {
					t.Fatalf("event round trip: %+v -> %+v", ev, again)
				}
			}
			ds := fromProtoDiags(w.GetDiagnostics())
			if again := fromProtoDiags(toProtoDiags(ds)); !slices.Equal(again, ds) {
				t.Fatalf("diagnostics round trip: %+v -> %+v", ds, again)
			}
		}
		var g pb.Get_Response
		if proto.Unmarshal(b, &g) == nil {
			it := fromProtoItem(g.GetItem())
			if again := fromProtoItem(toProtoItem(it)); again.Key != it.Key || !bytes.Equal(again.Value, it.Value) || again.Revision != it.Revision {
				t.Fatalf("item round trip: %+v -> %+v", it, again)
			}
		}
		var s pb.Schema_Response
		if proto.Unmarshal(b, &s) == nil {
			if sc, err := fromProtoSchema(&s); err == nil {
				again, err := fromProtoSchema(toProtoSchema(sc))
				if err != nil || !slices.Equal(again.Attributes, sc.Attributes) {
					t.Fatalf("schema round trip: %+v -> %+v, %v", sc, again, err)
				}
			}
		}
	})
}
