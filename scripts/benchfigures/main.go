// Command benchfigures turns `go test -bench` output into the figures file
// `make bench` leaves behind: one line per reported metric,
//
//	package  benchmark  value  unit
//
// so a person (or the README) reads the numbers without Go's noise.
// It copies its input to stdout as it goes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "figures.txt", "figures file to write")
	flag.Parse()
	figs, err := collect(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchfigures: %v\n", err)
		os.Exit(1)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Tunneler benchmark figures, %s\n", time.Now().UTC().Format(time.RFC3339))
	for _, f := range figs {
		fmt.Fprintln(&sb, f)
	}
	if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "benchfigures: %v\n", err)
		os.Exit(1)
	}
}

// collect reads go test -bench output, echoing it, and returns one figure
// line per metric other than Go's own (ns/op, B/op, allocs/op).
func collect(in io.Reader, echo io.Writer) ([]string, error) {
	var figs []string
	pkg := ""
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/tunneler/tunneler/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // GOMAXPROCS suffix
		}
		for i := 2; i+1 < len(f); i += 2 {
			unit := f[i+1]
			switch unit {
			case "ns/op", "B/op", "allocs/op", "MB/s":
				continue
			}
			figs = append(figs, fmt.Sprintf("%-18s %-40s %12s  %s", pkg, name, f[i], unit))
		}
	}
	return figs, sc.Err()
}
