package ziti

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRunCommand(t *testing.T) {
	ctx := context.Background()
	out, err := RunCommand(ctx, exec.Command("sh", "-c", "echo out; echo err >&2"))
	if err != nil || !strings.Contains(string(out), "out") || !strings.Contains(string(out), "err") {
		t.Errorf("RunCommand = %q, %v; want both streams and no error", out, err)
	}
	out, err = RunCommand(ctx, exec.Command("sh", "-c", "echo why; exit 3"))
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "why") {
		t.Errorf("failing command: %q, %v", out, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := RunCommand(ctx, exec.Command("sleep", "10")); err == nil || time.Since(t0) > 5*time.Second {
		t.Errorf("RunCommand ignored its context: %v after %v", err, time.Since(t0))
	}
}
