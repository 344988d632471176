package checkpoint

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to both decoders. Neither may panic; they
// must agree; and whatever they accept must survive a re-encode unchanged.
func FuzzDecode(f *testing.F) {
	tensors, meta := sample()
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, meta); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())-3])
	f.Add(header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)...))
	f.Add(header(`{"__metadata__":{"k":"v"},"b":{"dtype":"BOOL","shape":[1,0],"data_offsets":[0,0]}}`))
	f.Add(header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 1, 2))
	f.Add(header(`{}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, in []byte) {
		got, gotMeta, err := DecodeBytes(in)
		got2, gotMeta2, err2 := Decode(bytes.NewReader(in))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("DecodeBytes err %v, Decode err %v", err, err2)
		}
		if err != nil {
			return
		}
		equalTensors(t, got2, got)
		equalMeta(t, gotMeta2, gotMeta)

		var once bytes.Buffer
		if err := Encode(&once, got, gotMeta); err != nil {
			t.Fatalf("re-encoding accepted input: %v", err)
		}
		back, backMeta, err := DecodeBytes(once.Bytes())
		if err != nil {
			t.Fatalf("decoding our own encoding: %v", err)
		}
		equalTensors(t, back, got)
		equalMeta(t, backMeta, gotMeta)
		var twice bytes.Buffer
		if err := Encode(&twice, back, backMeta); err != nil || !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("encoding is not canonical (err %v)", err)
		}
	})
}
