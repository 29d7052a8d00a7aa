package pluginhost

import (
	"fmt"

	"github.com/kilnhq/kiln/sdk/plugin"
	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// Conversions from the generated wire types to the SDK's Go types, for the
// host side. Wire types never leave this package.

// fromProtoDiags is lenient: any severity other than WARNING, including
// values a newer peer might send, is an error.
func fromProtoDiags(in []*pb.Diagnostic) plugin.Diagnostics {
	if len(in) == 0 {
		return nil
	}
	out := make(plugin.Diagnostics, 0, len(in))
	for _, d := range in {
		if d == nil {
			continue
		}
		sev := plugin.SeverityError
		if d.GetSeverity() == pb.Diagnostic_WARNING {
			sev = plugin.SeverityWarning
		}
		out = append(out, plugin.Diagnostic{Severity: sev, Summary: d.GetSummary(), Detail: d.GetDetail(), Attribute: d.GetAttribute(), Transient: d.GetTransient()})
	}
	return out
}

// diagsErr returns the diagnostics as an error when any is an error.
func diagsErr(in []*pb.Diagnostic) error {
	if ds := fromProtoDiags(in); ds.HasErrors() {
		return ds
	}
	return nil
}

func fromProtoItem(it *pb.Item) plugin.Item {
	return plugin.Item{Key: it.GetKey(), Value: it.GetValue(), Revision: it.GetRevision()}
}

func fromProtoEvent(ev *pb.Event) plugin.Event {
	e := plugin.Event{Revision: ev.GetRevision(), Key: ev.GetKey(), Deleted: ev.GetDeleted(), Bookmark: ev.GetBookmark()}
	if !e.Deleted && !e.Bookmark {
		e.Value = ev.GetValue()
	}
	return e
}

// fromProtoSchema rejects attribute types this engine does not know.
func fromProtoSchema(in *pb.Schema_Response) (plugin.Schema, error) {
	var s plugin.Schema
	for _, a := range in.GetAttributes() {
		t := plugin.AttributeType(a.GetType())
		switch t {
		case plugin.TypeString, plugin.TypeNumber, plugin.TypeBool, plugin.TypeList:
		default:
			return plugin.Schema{}, plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: "unknown attribute type", Detail: a.GetType(), Attribute: a.GetName()}}
		}
		s.Attributes = append(s.Attributes, plugin.Attribute{Name: a.GetName(), Type: t, Required: a.GetRequired(), Description: a.GetDescription()})
	}
	return s, nil
}

// fromProtoResults converts a GetMany answer, which must hold one result
// per key.
func fromProtoResults(in []*pb.GetMany_Result, keys int) ([]plugin.Item, []bool, error) {
	if len(in) != keys {
		return nil, nil, fmt.Errorf("pluginhost: GetMany answered %d results for %d keys", len(in), keys)
	}
	items, found := make([]plugin.Item, keys), make([]bool, keys)
	for i, r := range in {
		if found[i] = r.GetFound(); found[i] {
			items[i] = fromProtoItem(r.GetItem())
		}
	}
	return items, found, nil
}
