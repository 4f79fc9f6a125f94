package supervise

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// One run of a service's program: started in its own process group, its
// output copied line by line into the ring and log file, its health probed.

const (
	// maxLineBytes splits longer output lines, bounding ring memory.
	maxLineBytes = 4096
	// outputDrain is how long a run's output pipes stay open after its
	// process group is gone: a descendant that escaped the group could
	// hold them open for ever.
	outputDrain = time.Second
)

// run is one started process.
type run struct {
	pid     int
	started time.Time
	exit    <-chan ExitStatus
	cmd     *exec.Cmd
	readers []*os.File
	cancel  context.CancelFunc // ends the probe
	why     string             // set when we stop it for a reason of our own
}

// startProcess runs Prepare, then starts the program in its own process
// group with its output piped into the ring and log file.
func (u *Unit) startProcess(ctx context.Context) (*run, error) {
	svc := u.svc
	if svc.Prepare != nil {
		pctx, cancel := context.WithTimeout(ctx, svc.PrepareTimeout)
		err := svc.Prepare(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start abandoned: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        svc.Path,
		Args:        append([]string{svc.Path}, svc.Args...),
		Env:         svc.Env,
		Dir:         svc.Dir,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &unix.SysProcAttr{Setpgid: true},
	}
	exit, err := u.sup.reaper.Start(cmd)
	// The child has its copies; ours must go so the readers see EOF.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	go u.copyLines(outR, "stdout")
	go u.copyLines(errR, "stderr")
	return &run{
		pid:     cmd.Process.Pid,
		started: time.Now(),
		exit:    exit,
		cmd:     cmd,
		readers: []*os.File{outR, errR},
	}, nil
}

func (u *Unit) copyLines(f *os.File, stream string) {
	defer f.Close()
	br := bufio.NewReaderSize(f, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			u.record(stream, strings.TrimRight(string(b), "\r\n"))
		}
		if err == bufio.ErrBufferFull {
			continue // an over-long line goes in pieces
		}
		if err != nil {
			return
		}
	}
}

// probe checks health every ProbeInterval until ctx ends, and asks the loop
// to restart r after too many failures in a row.
func (u *Unit) probe(ctx context.Context, r *run, restart chan<- unhealthy) {
	svc := u.svc
	t := time.NewTicker(svc.ProbeInterval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, svc.ProbeTimeout)
		err := svc.Probe(pctx)
		cancel()
		var flipped bool
		u.set(func(s *Status) {
			if ctx.Err() != nil {
				return // the run ended while we probed
			}
			s.ProbeAt = time.Now()
			flipped = s.Healthy != (err == nil)
			s.Healthy = err == nil
			s.ProbeError = ""
			if err != nil {
				s.ProbeError = err.Error()
			}
		})
		if ctx.Err() != nil {
			return
		}
		if flipped {
			if err == nil {
				u.event("healthy")
			} else {
				u.event("unhealthy: %v", err)
			}
		}
		if err == nil {
			failed = 0
			continue
		}
		failed++
		if n := svc.ProbeFailuresToRestart; n > 0 && failed >= n {
			why := fmt.Sprintf("%d failed probes: %v", failed, err)
			select {
			case restart <- unhealthy{r, why}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// killGroup signals the process group led by pid. ESRCH means it is gone
// already, which is what we wanted.
func killGroup(pid int, sig unix.Signal) {
	if pid <= 0 {
		return // never kill(0) or kill(-1)
	}
	unix.Kill(-pid, sig)
}
