package console

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDialogAsksQuestions(t *testing.T) {
	var got []string
	m := &Menu{Title: "T", Items: []Item{
		{Key: "3", Title: "Set LAN address", Dialog: func(s *Session) error {
			a, ok := s.Ask("Address: ")
			if !ok {
				return io.EOF
			}
			got = append(got, a)
			if s.Confirm("Apply " + a + "?") {
				got = append(got, "applied")
			}
			return nil
		}},
		{Key: "4", Title: "Fails", Dialog: func(s *Session) error { return fmt.Errorf("no store") }},
	}}
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader("3\n 10.0.0.2/24 \nyes\n3\ndhcp\nno\n4\n"), &out); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"10.0.0.2/24", "applied", "dhcp"}, got); d != "" {
		t.Errorf("answers (-want +got)\n%s", d)
	}
	if !strings.Contains(out.String(), "Fails failed: no store") {
		t.Errorf("output lacks the item's error:\n%s", out.String())
	}
}

func TestLogRingKeepsTheLastLines(t *testing.T) {
	r := NewLogRing(3)
	fmt.Fprintf(r, "one\ntwo\nthr")
	fmt.Fprintf(r, "ee\nfour\n")
	if d := cmp.Diff([]string{"two", "three", "four"}, r.Lines()); d != "" {
		t.Errorf("lines (-want +got)\n%s", d)
	}
	for i := 0; i < 10; i++ {
		fmt.Fprintf(r, "%d\n", i)
	}
	if d := cmp.Diff([]string{"7", "8", "9"}, r.Lines()); d != "" {
		t.Errorf("lines after wrapping (-want +got)\n%s", d)
	}
	r.Write([]byte(strings.Repeat("x", 5000)))
	if l := r.Lines(); len(l[2]) > maxLine+4 {
		t.Errorf("a runaway line is stored whole (%d bytes)", len(l[2]))
	}
}
