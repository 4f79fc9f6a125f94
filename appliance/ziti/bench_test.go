package ziti

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkRouter gives `make bench` the router's figures, against a
// quickstart controller in a namespace of its own (as the host tests):
//
//	binary-MB            size of image/ziti's ziti-router on disk
//	rss-MB               its resident memory 3 s after it is connected
//	jwt-to-connected-s   from handing Enroll the token to the health
//	                     check saying connected (enroll, Prepare, start)
//
// Each iteration creates a fresh edge router on the controller.
func BenchmarkRouter(b *testing.B) {
	l := newLab(b)
	st, err := os.Stat(l.bin)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var rss int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench%d", i)
		b.StopTimer()
		jwt := l.newRouterToken(name)
		r := l.router(name)
		b.StartTimer()

		t0 := time.Now()
		if _, err := r.EnrollFile(context.Background(), jwt); err != nil {
			b.Fatal(err)
		}
		p := l.run(r, name)
		waitConnected(b, r, 60*time.Second)
		total += time.Since(t0)

		b.StopTimer()
		time.Sleep(3 * time.Second)
		kb, err := rssKB(p.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("router's memory: %v", err)
		}
		rss = max(rss, kb)
		stop(p.cmd, p.done)
		b.StartTimer()
	}
	b.ReportMetric(float64(st.Size())/1e6, "binary-MB")
	b.ReportMetric(float64(rss)/1024, "rss-MB")
	b.ReportMetric(total.Seconds()/float64(b.N), "jwt-to-connected-s")
}
