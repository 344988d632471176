package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"
)

// metadataKey is the reserved header entry holding string→string metadata.
const metadataKey = "__metadata__"

// Encode writes tensors and meta to w in safetensors format.
//
// The output is deterministic: tensors are laid out widest dtype first, then
// by name (the reference writer's order, which keeps every tensor naturally
// aligned), metadata keys are sorted, and an empty meta map is omitted just as
// the reference omits metadata=None. Every tensor is validated before the
// first byte is written, so a bad tensor never leaves a half-written stream.
func Encode(w io.Writer, tensors map[string]Tensor, meta map[string]string) error {
	header, order, err := encodeHeader(tensors, meta)
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 8+len(header))
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	if _, err := w.Write(append(buf, header...)); err != nil {
		return fmt.Errorf("checkpoint: write header: %w", err)
	}
	for _, name := range order {
		if _, err := w.Write(tensors[name].Data); err != nil {
			return fmt.Errorf("checkpoint: write tensor %q: %w", name, err)
		}
	}
	return nil
}

// encodeHeader builds the space-padded JSON header and returns the tensor
// names in data order.
func encodeHeader(tensors map[string]Tensor, meta map[string]string) ([]byte, []string, error) {
	order := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == metadataKey {
			return nil, nil, fmt.Errorf("checkpoint: tensor name %q is reserved", name)
		}
		if !utf8.ValidString(name) {
			return nil, nil, fmt.Errorf("checkpoint: tensor name %q is not valid UTF-8", name)
		}
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: %w", name, err)
		}
		order = append(order, name)
	}
	sort.Slice(order, func(i, j int) bool {
		ri, rj := dtypeInfo[tensors[order[i]].DType].rank, dtypeInfo[tensors[order[j]].DType].rank
		if ri != rj {
			return ri > rj
		}
		return order[i] < order[j]
	})

	// Hand-written rather than encoding/json so the bytes match serde_json's
	// compact output (no HTML escaping, fixed field order).
	h := []byte{'{'}
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k, v := range meta {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, fmt.Errorf("checkpoint: metadata %q is not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h = appendString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendString(h, k)
			h = append(h, ':')
			h = appendString(h, meta[k])
		}
		h = append(h, '}')
		if len(order) > 0 {
			h = append(h, ',')
		}
	}
	offset := uint64(0)
	for i, name := range order {
		t := tensors[name]
		if i > 0 {
			h = append(h, ',')
		}
		h = appendString(h, name)
		h = append(h, `:{"dtype":`...)
		h = appendString(h, t.DType)
		h = append(h, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendUint(h, offset, 10)
		offset += uint64(len(t.Data))
		h = append(h, ',')
		h = strconv.AppendUint(h, offset, 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	return h, order, nil
}

// appendString appends s as a JSON string the way serde_json does: only '"',
// '\\' and control characters are escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
