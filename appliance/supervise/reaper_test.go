package supervise

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReaperExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		want    string
		success bool
	}{
		{"exit 0 at once", "exit 0", "exit status 0", true},
		{"exit 3 at once", "exit 3", "exit status 3", false},
		{"killed", "kill -KILL $$", "signal: SIGKILL", false},
		{"after a while", "sleep 0.05; exit 7", "exit status 7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exit, err := testReaper.Start(exec.Command("/bin/sh", "-c", tt.script))
			if err != nil {
				t.Fatal(err)
			}
			select {
			case st := <-exit:
				if st.String() != tt.want || st.Success() != tt.success {
					t.Errorf("got %q success=%v, want %q success=%v", st, st.Success(), tt.want, tt.success)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("exit status lost")
			}
		})
	}
}

// Many children that exit at once, started concurrently: each status must
// reach its own waiter even when the child is gone before Start returns.
func TestReaperImmediateExitNotLost(t *testing.T) {
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(i%100))
			exit, err := testReaper.Start(cmd)
			if err != nil {
				t.Error(err)
				return
			}
			select {
			case st := <-exit:
				if st.Pid != cmd.Process.Pid || st.Status.ExitStatus() != i%100 {
					t.Errorf("child %d: got pid %d %s, want pid %d exit %d", i, st.Pid, st, cmd.Process.Pid, i%100)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("child %d: exit status lost", i)
			}
		}()
	}
	wg.Wait()
}

func TestReaperReapsOrphans(t *testing.T) {
	got := make(chan ExitStatus, 10)
	onOrphan(t, func(st ExitStatus) { got <- st })
	before := testReaper.Orphans()
	// The shell leaves a grandchild behind and exits; the grandchild
	// re-parents to us (the subreaper) and nobody registered it.
	out, err := testReaper.Run(context.Background(), exec.Command("/bin/sh", "-c", "sleep 0.1 >/dev/null 2>&1 & echo $!"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", out, err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case st := <-got:
			if st.Pid != orphan {
				continue
			}
			if !st.Success() {
				t.Errorf("orphan ended %s, want exit status 0", st)
			}
			if testReaper.Orphans() <= before {
				t.Errorf("orphan count %d did not rise from %d", testReaper.Orphans(), before)
			}
			if alive(orphan) {
				t.Errorf("orphan %d still exists (zombie) after reaping", orphan)
			}
			return
		case <-deadline:
			t.Fatalf("orphan %d never reaped", orphan)
		}
	}
}

func TestReaperRun(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		timeout time.Duration
		out     string
		errHas  string
	}{
		{"ok", "echo out; echo err >&2", time.Second, "out\nerr\n", ""},
		{"fails", "echo nope; exit 2", time.Second, "nope\n", "exit status 2: nope"},
		{"timeout", "exec sleep 10", 100 * time.Millisecond, "", "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			out, err := testReaper.Run(ctx, exec.Command("/bin/sh", "-c", tt.script))
			if string(out) != tt.out {
				t.Errorf("output %q, want %q", out, tt.out)
			}
			switch {
			case tt.errHas == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
				t.Errorf("error %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

func TestReaperRejectsCopyingWriters(t *testing.T) {
	cmd := exec.Command("/bin/true")
	cmd.Stdout = &strings.Builder{}
	if _, err := testReaper.Start(cmd); err == nil {
		t.Fatal("Start accepted a non-file Stdout that only Wait would clean up")
	}
}

func TestReaperStartFailure(t *testing.T) {
	before := testReaper.Orphans()
	if _, err := testReaper.Start(exec.Command("/nonexistent/prog")); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
	// os.StartProcess reaps its own failed child; the loop must not
	// have stolen it and counted an orphan.
	time.Sleep(50 * time.Millisecond)
	if n := testReaper.Orphans(); n != before {
		t.Errorf("orphans went from %d to %d after a failed exec", before, n)
	}
}
