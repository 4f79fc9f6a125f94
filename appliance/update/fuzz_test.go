package update

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"testing"
)

// The bundle reader takes any bytes from the network: it must never panic,
// never read a part's bytes out of a manifest it did not verify, and a
// bundle it reads to the end must match its manifest.
func FuzzReader(f *testing.F) {
	good := bundle(f, testKey, nil)
	f.Add(good)
	f.Add(good[:700])
	f.Add(good[:len(good)/2])
	f.Add(bundle(f, otherKey, nil))
	f.Add([]byte{})
	pub := testKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), pub)
		if err != nil {
			return
		}
		if err := r.Manifest.check(); err != nil {
			t.Fatalf("Open accepted a manifest that fails its checks: %v", err)
		}
		var total int64
		for {
			p, pr, err := r.Next()
			if err != nil {
				if err == io.EOF && total > int64(len(data)) {
					t.Fatalf("read %d part bytes out of a %d byte bundle", total, len(data))
				}
				return
			}
			n, err := io.Copy(io.Discard, pr)
			if err != nil {
				return
			}
			if n != p.Size {
				t.Fatalf("part %s read %d bytes without error, manifest says %d", p.Name, n, p.Size)
			}
			total += n
		}
	})
}
