package vmtest

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Console is a VM's serial console: everything it printed is kept, and a
// test waits for patterns in what came after its last match.
type Console struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	cursor int
	closed bool
	in     io.Writer
	log    *os.File
}

func newConsole(out io.Reader, in io.Writer, logPath string) *Console {
	c := &Console{in: in}
	c.cond = sync.NewCond(&c.mu)
	c.log, _ = os.Create(logPath)
	go c.read(out)
	return c
}

func (c *Console) read(out io.Reader) {
	chunk := make([]byte, 4096)
	for {
		n, err := out.Read(chunk)
		c.mu.Lock()
		if n > 0 {
			c.buf = append(c.buf, chunk[:n]...)
			if c.log != nil {
				c.log.Write(chunk[:n])
			}
		}
		if err != nil {
			c.closed = true
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Expect waits until the console prints something matching re after the
// last match, and returns the match's submatches (whole match first).
// Output arrives in pieces: a pattern that ends in an open-ended group
// (\S+, \d+) can match half a word, so end such patterns with what must
// follow (a space, \D, a fixed length).
func (c *Console) Expect(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if loc := re.FindSubmatchIndex(c.buf[c.cursor:]); loc != nil {
			var subs []string
			for i := 0; i+1 < len(loc); i += 2 {
				if loc[i] < 0 {
					subs = append(subs, "")
					continue
				}
				subs = append(subs, string(c.buf[c.cursor+loc[i]:c.cursor+loc[i+1]]))
			}
			c.cursor += loc[1]
			return subs, nil
		}
		if c.closed {
			return nil, fmt.Errorf("console closed (qemu exited) before %q appeared", re)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %q on the console within %s", re, timeout)
		}
		c.cond.Wait()
	}
}

// ExpectString is Expect for a literal string.
func (c *Console) ExpectString(s string, timeout time.Duration) error {
	_, err := c.Expect(regexp.MustCompile(regexp.QuoteMeta(s)), timeout)
	return err
}

// Send types text on the serial line.
func (c *Console) Send(text string) error {
	_, err := io.WriteString(c.in, text)
	return err
}

// SendLine types a line and Enter (a carriage return, as a terminal sends).
func (c *Console) SendLine(line string) error { return c.Send(line + "\r") }

// Output returns everything the console printed.
func (c *Console) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// Tail returns the last n lines, for failure messages.
func (c *Console) Tail(n int) string {
	lines := strings.Split(c.Output(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
