package plugin

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// Plugin side: serves a Source over the generated gRPC service.

const (
	defaultListLimit = 100
	chunkBytes       = 1 << 20 // a List page is streamed in chunks of about this size
)

type server struct {
	pb.UnimplementedDataSourceServer
	src Source
}

func (s *server) Capabilities(context.Context, *pb.Capabilities_Request) (*pb.Capabilities_Response, error) {
	c := s.src.Capabilities()
	_, writable := s.src.(Writer)
	return &pb.Capabilities_Response{Watch: c.Watch, Writable: c.Writable && writable}, nil
}

func (s *server) Schema(context.Context, *pb.Schema_Request) (*pb.Schema_Response, error) {
	return toProtoSchema(s.src.Schema()), nil
}

func (s *server) Configure(ctx context.Context, req *pb.Configure_Request) (*pb.Configure_Response, error) {
	return &pb.Configure_Response{Diagnostics: toProtoDiags(s.src.Configure(ctx, req.GetConfig()))}, nil
}

func (s *server) Get(ctx context.Context, req *pb.Get_Request) (*pb.Get_Response, error) {
	it, found, err := s.src.Get(ctx, req.GetKey())
	if err != nil {
		return &pb.Get_Response{Diagnostics: errToProto(err)}, nil
	}
	if !found {
		return &pb.Get_Response{}, nil
	}
	return &pb.Get_Response{Item: toProtoItem(it), Found: true}, nil
}

// GetMany answers a batched read with the source's BatchGetter, or with
// one Get per key.
func (s *server) GetMany(ctx context.Context, req *pb.GetMany_Request) (*pb.GetMany_Response, error) {
	keys := req.GetKeys()
	items, found, err := getMany(ctx, s.src, keys)
	if err == nil && (len(items) != len(keys) || len(found) != len(keys)) {
		err = fmt.Errorf("plugin: GetMany returned %d items and %d found flags for %d keys", len(items), len(found), len(keys))
	}
	if err != nil {
		return &pb.GetMany_Response{Diagnostics: errToProto(err)}, nil
	}
	out := &pb.GetMany_Response{Results: make([]*pb.GetMany_Result, len(keys))}
	for i := range keys {
		r := &pb.GetMany_Result{Found: found[i]}
		if found[i] {
			r.Item = toProtoItem(items[i])
		}
		out.Results[i] = r
	}
	return out, nil
}

func getMany(ctx context.Context, src Source, keys []string) ([]Item, []bool, error) {
	if b, ok := src.(BatchGetter); ok {
		return b.GetMany(ctx, keys)
	}
	items, found := make([]Item, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		var err error
		if items[i], found[i], err = src.Get(ctx, k); err != nil {
			return nil, nil, err
		}
	}
	return items, found, nil
}

func (s *server) List(req *pb.List_Request, stream grpc.ServerStreamingServer[pb.List_Response]) error {
	limit := int(req.GetLimit())
	if limit <= 0 {
		limit = defaultListLimit
	}
	page, err := s.src.List(stream.Context(), ListRequest{
		Prefix: req.GetPrefix(), Cursor: req.GetCursor(), Limit: limit, Reverse: req.GetReverse(),
	})
	if err != nil {
		return stream.Send(&pb.List_Response{Diagnostics: errToProto(err)})
	}
	return sendPage(page, stream.Send)
}

// sendPage streams a page in chunks; the last chunk carries Next.
func sendPage(page ListPage, send func(*pb.List_Response) error) error {
	msg, size := &pb.List_Response{}, 0
	for _, it := range page.Items {
		if size > 0 && size+len(it.Key)+len(it.Value) > chunkBytes {
			if err := send(msg); err != nil {
				return err
			}
			msg, size = &pb.List_Response{}, 0
		}
		msg.Items = append(msg.Items, toProtoItem(it))
		size += len(it.Key) + len(it.Value)
	}
	msg.Next = page.Next
	return send(msg)
}

func (s *server) Watch(req *pb.Watch_Request, stream grpc.ServerStreamingServer[pb.Watch_Response]) error {
	ctx := stream.Context()
	err := s.src.Watch(ctx, req.GetFromRevision(), func(ev Event) error {
		return stream.Send(&pb.Watch_Response{Events: []*pb.Event{toProtoEvent(ev)}})
	})
	if err != nil && ctx.Err() == nil {
		return stream.Send(&pb.Watch_Response{Diagnostics: errToProto(err)})
	}
	return nil
}

func (s *server) Put(ctx context.Context, req *pb.Put_Request) (*pb.Put_Response, error) {
	w, ok := s.src.(Writer)
	if !ok {
		return &pb.Put_Response{Diagnostics: toProtoDiags(readOnly)}, nil
	}
	rev, err := w.Put(ctx, req.GetKey(), req.GetValue())
	return &pb.Put_Response{Revision: rev, Diagnostics: errToProto(err)}, nil
}

// PutMany answers a batched write with the source's BatchWriter, or with
// one Put per item, in order.
func (s *server) PutMany(ctx context.Context, req *pb.PutMany_Request) (*pb.PutMany_Response, error) {
	w, ok := s.src.(Writer)
	if !ok {
		return &pb.PutMany_Response{Diagnostics: toProtoDiags(readOnly)}, nil
	}
	items := make([]Item, len(req.GetItems()))
	for i, it := range req.GetItems() {
		items[i] = Item{Key: it.GetKey(), Value: it.GetValue()}
	}
	if b, ok := w.(BatchWriter); ok {
		rev, err := b.PutMany(ctx, items)
		written := len(items)
		if err != nil {
			written = 0
		}
		return &pb.PutMany_Response{Revision: rev, Written: uint32(written), Diagnostics: errToProto(err)}, nil
	}
	var rev uint64
	for i, it := range items {
		r, err := w.Put(ctx, it.Key, it.Value)
		if err != nil {
			return &pb.PutMany_Response{Revision: rev, Written: uint32(i), Diagnostics: errToProto(err)}, nil
		}
		rev = r
	}
	return &pb.PutMany_Response{Revision: rev, Written: uint32(len(items))}, nil
}

func (s *server) Delete(ctx context.Context, req *pb.Delete_Request) (*pb.Delete_Response, error) {
	w, ok := s.src.(Writer)
	if !ok {
		return &pb.Delete_Response{Diagnostics: toProtoDiags(readOnly)}, nil
	}
	rev, err := w.Delete(ctx, req.GetKey())
	return &pb.Delete_Response{Revision: rev, Diagnostics: errToProto(err)}, nil
}

var readOnly = Diagnostics{{Severity: SeverityError, Summary: "data source is read-only"}}
