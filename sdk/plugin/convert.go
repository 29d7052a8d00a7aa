package plugin

import (
	"errors"

	"github.com/kilnhq/kiln/sdk/plugin/internal/pb"
)

// Conversions between the SDK's Go types and the generated wire types.
// Wire types never leave this package.

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

// fromProtoDiags is lenient: any severity other than WARNING, including
// values a newer peer might send, is an error.
func fromProtoDiags(in []*pb.Diagnostic) Diagnostics {
	if len(in) == 0 {
		return nil
	}
	out := make(Diagnostics, 0, len(in))
	for _, d := range in {
		if d == nil {
			continue
		}
		sev := SeverityError
		if d.GetSeverity() == pb.Diagnostic_WARNING {
			sev = SeverityWarning
		}
		out = append(out, Diagnostic{Severity: sev, Summary: d.GetSummary(), Detail: d.GetDetail(), Attribute: d.GetAttribute()})
	}
	return out
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

// diagsErr returns the diagnostics as an error when any is an error.
func diagsErr(in []*pb.Diagnostic) error {
	if ds := fromProtoDiags(in); ds.HasErrors() {
		return ds
	}
	return nil
}

func toProtoItem(it Item) *pb.Item {
	return &pb.Item{Key: it.Key, Value: it.Value, Revision: it.Revision}
}

func fromProtoItem(it *pb.Item) Item {
	return Item{Key: it.GetKey(), Value: it.GetValue(), Revision: it.GetRevision()}
}

func toProtoEvent(ev Event) *pb.Event {
	return &pb.Event{Revision: ev.Revision, Key: ev.Key, Value: ev.Value, Deleted: ev.Deleted, Bookmark: ev.Bookmark}
}

func fromProtoEvent(ev *pb.Event) Event {
	e := Event{Revision: ev.GetRevision(), Key: ev.GetKey(), Deleted: ev.GetDeleted(), Bookmark: ev.GetBookmark()}
	if !e.Deleted && !e.Bookmark {
		e.Value = ev.GetValue()
	}
	return e
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

// fromProtoSchema rejects attribute types this SDK does not know.
func fromProtoSchema(in *pb.Schema_Response) (Schema, error) {
	var s Schema
	for _, a := range in.GetAttributes() {
		t := AttributeType(a.GetType())
		switch t {
		case TypeString, TypeNumber, TypeBool, TypeList:
		default:
			return Schema{}, Diagnostics{{Severity: SeverityError, Summary: "unknown attribute type", Detail: a.GetType(), Attribute: a.GetName()}}
		}
		s.Attributes = append(s.Attributes, Attribute{Name: a.GetName(), Type: t, Required: a.GetRequired(), Description: a.GetDescription()})
	}
	return s, nil
}
