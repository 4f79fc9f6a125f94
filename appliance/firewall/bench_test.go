package firewall

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

var benchPeers = []int{1, 100, 1000, 10000}

func peers(n int) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	out = append(out, addr("192.0.2.2"))
	for i := 1; i < n; i++ {
		out = append(out, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	return out
}

// BenchmarkApply: time to build and to commit the whole ruleset, by number
// of peers, in a throwaway namespace.
func BenchmarkApply(b *testing.B) {
	for _, n := range benchPeers {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			ns := testenv.NewNetns(b, "bench")
			conn := nsConn(b, ns)
			spec := Spec{WAN: []string{"wan0"}, LAN: []string{"lan0"}, Peers: peers(n), InsideAddr: addr("100.64.0.1")}
			var build, commit time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				rs, err := Build(spec)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := Install(conn, rs); err != nil {
					b.Fatal(err)
				}
				build += t1.Sub(t0)
				commit += time.Since(t1)
			}
			b.ReportMetric(float64(build.Microseconds())/1000/float64(b.N), "build-ms/op")
			b.ReportMetric(float64(commit.Microseconds())/1000/float64(b.N), "commit-ms/op")
		})
	}
}

// BenchmarkInputHook: packets per second through the input hook, with 1
// and with 10,000 peers. A non-peer floods UDP 500 at the WAN address: each
// packet walks the input chain, is looked up in the peer set and dropped by
// the last rule, whose counter says how many arrived. The sender's write
// runs the receive path too (veth delivers in its softirq), so the rate is
// bounded by the per-packet cost of the hook. Each iteration floods for
// half a second.
func BenchmarkInputHook(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			box := testenv.NewNetns(b, "bbox")
			wan := testenv.NewNetns(b, "bwan")
			testenv.Veth(b, box, "wan0", wan, "p0")
			box.Run(b, "ip", "addr", "add", "192.0.2.1/24", "dev", "wan0")
			wan.Run(b, "ip", "addr", "add", "192.0.2.3/24", "dev", "p0")
			conn := nsConn(b, box)
			mustApply(b, conn, Spec{WAN: []string{"wan0"}, LAN: []string{"lan0"}, Peers: peers(n), InsideAddr: addr("100.64.0.1")})
			var c *net.UDPConn
			if err := wan.Do(func() (err error) {
				c, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 3), Port: 500}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 500})
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			payload := make([]byte, 64)
			var pkts uint64
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				before := counter(b, conn, "in_drop")
				start := time.Now()
				for time.Since(start) < 500*time.Millisecond {
					for j := 0; j < 256; j++ {
						c.Write(payload)
					}
				}
				elapsed += time.Since(start)
				pkts += counter(b, conn, "in_drop") - before
			}
			b.ReportMetric(float64(pkts)/elapsed.Seconds(), "pkts/s")
		})
	}
}
