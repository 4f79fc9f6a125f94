package supervise

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// logFile appends lines to path and, when the next line would take it over
// max bytes, renames it to path.1 (replacing the previous one) and starts a
// new file, so a service never uses more than about 2*max bytes of /perm.
type logFile struct {
	mu     sync.Mutex
	path   string
	max    int64
	f      *os.File
	size   int64
	closed bool
}

func openLogFile(path string, max int64) (*logFile, error) {
	l := &logFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", l.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log %s: %w", l.path, err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

func formatLine(ln LogLine) string {
	return fmt.Sprintf("%s %s: %s\n", ln.Time.UTC().Format(time.RFC3339Nano), ln.Stream, ln.Text)
}

func (l *logFile) write(ln LogLine) error {
	b := formatLine(ln)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil // output still draining after Close: drop it
	}
	if l.f == nil {
		// A failed rotation left no file: try again, so a transient
		// error (disk full) does not silence the log for good.
		if err := l.open(); err != nil {
			return err
		}
	}
	if l.size > 0 && l.size+int64(len(b)) > l.max {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.WriteString(b)
	l.size += int64(n)
	if errors.Is(err, syscall.ENOSPC) && l.size > 0 {
		// The disk is full (something else filled it, or the log did
		// on a small disk): rotating early frees the old file's space,
		// so the newest lines are kept rather than none.
		if err = l.rotate(); err == nil {
			n, err = l.f.WriteString(b)
			l.size += int64(n)
		}
	}
	if err != nil {
		return fmt.Errorf("write log %s: %w", l.path, err)
	}
	return nil
}

func (l *logFile) rotate() error {
	l.f.Close()
	l.f = nil
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate log %s: %w", l.path, err)
	}
	return l.open()
}

func (l *logFile) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
