package systest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// cutReader hands out body and closes at once when at bytes have been
// read, so the test cuts the power at that point of an upload.
type cutReader struct {
	r    io.Reader
	n    int64
	at   int64
	once sync.Once
	hit  chan struct{}
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.at || err == io.EOF {
		c.once.Do(func() { close(c.hit) })
	}
	return n, err
}

// putUntil streams bundle to PUT /api/firmware in the background and
// returns once the box has been sent at bytes of it.
func (w *webLab) putUntil(t *testing.T, csrf string, bundle []byte, at int64) {
	t.Helper()
	cr := &cutReader{r: bytes.NewReader(bundle), at: at, hit: make(chan struct{})}
	req, _ := http.NewRequest(http.MethodPut, w.base+"/api/firmware", io.NopCloser(cr))
	req.ContentLength = int64(len(bundle))
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Content-Type", "application/octet-stream")
	c := *w.client
	c.Timeout = 5 * time.Minute
	go func() {
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-cr.hit:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the upload did not reach byte %d", at)
	}
}

// TestSoakUpdatePowerCuts cuts the power (kills qemu, keeping its disk and
// its UEFI variables) at the five moments of an update: mid-upload,
// mid-write (the whole body sent, the box still writing), written but not
// rebooted, during the trial boot, and just after the commit. Each time
// the box must then boot a working firmware with its config: the tunnel
// up, the admin password taking, and the Firmware API saying what runs.
func TestSoakUpdatePowerCuts(t *testing.T) {
	soakOnly(t)
	requireTools(t)
	im := vmtest.LoadImage(t)
	bundlePath, next := nextBundle(t, im, "-next", false)
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	w, csrf, opts := newUpdateLab(t, im, vmtest.Options{Firmware: vmtest.UEFI, EFIVars: filepath.Join(t.TempDir(), "OVMF_VARS.fd")})
	// The first start made the disk's overlay: every later one boots it.
	opts.Disk = w.vm.Disk

	// cut kills qemu, starts the box again from the same disk and NVRAM,
	// and checks it runs a working firmware with its config.
	good := 0
	cut := func(moment string, want ...string) string {
		t.Helper()
		w.vm.Kill()
		start := time.Now()
		w.vm = vmtest.Start(t, im, opts)
		m := expect(t, w.vm, bannerRe, bootTimeout+time.Minute)
		ok := slices.Contains(want, m[1]+"/"+m[2])
		if !ok {
			t.Errorf("power cut %s: the box came up with %s from slot %s, want one of %q", moment, m[1], m[2], want)
		}
		expect(t, w.vm, regexp.MustCompile(`tunnel name=site1 status=green`), 3*time.Minute)
		waitAnswers(t, w.client, w.base, 2*time.Minute)
		csrf = apiLogin(t, w.client, w.base, webAdminPass, time.Minute)
		st := w.firmware(t)
		if st.Running.Version != m[1] || st.Running.Slot != m[2] {
			t.Errorf("power cut %s: the banner says %s/%s, the API %+v", moment, m[1], m[2], st.Running)
			ok = false
		}
		if ok {
			good++
		}
		last := "none"
		if st.Last != nil {
			last = st.Last.String()
		}
		t.Logf("power cut %s: back up with %s from slot %s, tunnel up, in %.0fs; last update: %s", moment, m[1], m[2], time.Since(start).Seconds(), last)
		return m[1] + "/" + m[2]
	}
	a := im.Manifest.Version + "/a"
	b := next + "/b"

	w.putUntil(t, csrf, bundle, int64(len(bundle))*2/5)
	cut("mid-upload", a)

	w.putUntil(t, csrf, bundle, int64(len(bundle)))
	cut("mid-write", a)

	if status, ans := w.put(t, csrf, "/api/firmware", bundle); status != 200 {
		t.Fatalf("upload: %d %v", status, ans)
	}
	cut("written, not rebooted", a)

	// The slot survived the cut (it was synced before the answer): boot it.
	if st := w.firmware(t); st.Other.Version != next {
		t.Fatalf("after the cut the other slot holds %+v, want %s", st.Other, next)
	}
	w.post(t, csrf, "/api/firmware/boot?version="+url.QueryEscape(next), url.Values{"confirm": {"yes"}})
	w.expectBoot(t, next, "b")
	cut("during the trial boot", a)
	if st := w.firmware(t); st.Last == nil || st.Last.Outcome != "rolled back" || !strings.Contains(st.Last.Detail, "stopped during its trial boot") {
		t.Errorf("after the cut during the trial the last update says %+v", st.Last)
	}

	w.post(t, csrf, "/api/firmware/boot?version="+url.QueryEscape(next), url.Values{"confirm": {"yes"}})
	w.expectBoot(t, next, "b")
	expect(t, w.vm, regexp.MustCompile(`firmware trial passed its health gate`), 12*time.Minute)
	if got := cut("just after the commit", b, a); got != b {
		t.Logf("the commit was not on disk when the power went: the old firmware came back")
	}

	soakFigures(t, fmt.Sprintf("update power cuts: %d/5 boots came up with a working firmware, its config and the tunnel (UEFI)", good))
	if good != 5 {
		t.Errorf("%d of 5 power cuts left a working box", good)
	}
}
