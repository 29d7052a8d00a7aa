package pluginhost

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kilnhq/kiln/sdk/plugin"
	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

func TestDiagsErr(t *testing.T) {
	tests := []struct {
		name    string
		in      []*pb.Diagnostic
		wantErr bool
	}{
		{"none", nil, false},
		{"warnings only", []*pb.Diagnostic{{Severity: pb.Diagnostic_WARNING}}, false},
		{"error", []*pb.Diagnostic{{Severity: pb.Diagnostic_ERROR, Summary: "x"}}, true},
		{"unknown severity is an error", []*pb.Diagnostic{{Severity: 7, Summary: "future"}}, true},
		{"nil entry skipped", []*pb.Diagnostic{nil}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diagsErr(tt.in) != nil; got != tt.wantErr {
				t.Errorf("diagsErr != nil is %v, want %v", got, tt.wantErr)
			}
		})
	}
}

// FuzzFromProto decodes arbitrary wire bytes as each response and checks
// that conversion never panics and keeps the protocol's promises.
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
				if ev := fromProtoEvent(e); (ev.Deleted || ev.Bookmark) && ev.Value != nil {
					t.Fatalf("event %+v carries a value", ev)
				}
			}
			ds := fromProtoDiags(w.GetDiagnostics())
			for _, d := range ds {
				if d.Severity != plugin.SeverityError && d.Severity != plugin.SeverityWarning {
					t.Fatalf("severity %d", d.Severity)
				}
			}
		}
		var s pb.Schema_Response
		if proto.Unmarshal(b, &s) == nil {
			if sc, err := fromProtoSchema(&s); err == nil {
				for _, a := range sc.Attributes {
					switch a.Type {
					case plugin.TypeString, plugin.TypeNumber, plugin.TypeBool, plugin.TypeList:
					default:
						t.Fatalf("accepted type %q", a.Type)
					}
				}
			}
		}
	})
}
