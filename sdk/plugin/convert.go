package plugin

import (
	"errors"

	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// Conversions from the SDK's Go types to the generated wire types, for the
// plugin side. Wire types never reach a Source. (The host converts back in
// the engine.)

func toProtoDiags(ds Diagnostics) []*pb.Diagnostic {
	if len(ds) == 0 {
		return nil
	}
	out := make([]*pb.Diagnostic, len(ds))
	for i, d := range ds {
		out[i] = &pb.Diagnostic{
			Severity:  toProtoSeverity(d.Severity),
			Summary:   d.Summary,
			Detail:    d.Detail,
			Attribute: d.Attribute,
			Transient: d.Transient,
		}
	}
	return out
}

func toProtoSeverity(s Severity) pb.Diagnostic_Severity {
	if s == SeverityWarning {
		return pb.Diagnostic_WARNING
	}
	return pb.Diagnostic_ERROR
}

// errToProto turns a Source error into wire diagnostics.
func errToProto(err error) []*pb.Diagnostic {
	if err == nil {
		return nil
	}
	var ds Diagnostics
	if errors.As(err, &ds) {
		return toProtoDiags(ds)
	}
	return toProtoDiags(Diagnostics{{Severity: SeverityError, Summary: err.Error()}})
}

func toProtoItem(it Item) *pb.Item {
	return &pb.Item{Key: it.Key, Value: it.Value, Revision: it.Revision}
}

func toProtoEvent(ev Event) *pb.Event {
	return &pb.Event{Revision: ev.Revision, Key: ev.Key, Value: ev.Value, Deleted: ev.Deleted, Bookmark: ev.Bookmark}
}

func toProtoSchema(s Schema) *pb.Schema_Response {
	out := &pb.Schema_Response{}
	for _, a := range s.Attributes {
		out.Attributes = append(out.Attributes, &pb.Schema_Attribute{
			Name: a.Name, Type: string(a.Type), Required: a.Required, Description: a.Description,
		})
	}
	return out
}
