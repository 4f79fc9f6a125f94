package control

import (
	"sort"
	"strings"
	"time"
)

// Logs merges charon's, the router's and init's lines, oldest first.
func (o *Owner) Logs(q LogQuery) []LogLine {
	want := func(kind string) bool {
		if len(q.Kinds) == 0 {
			return true
		}
		for _, k := range q.Kinds {
			if k == kind {
				return true
			}
		}
		return false
	}
	var out []LogLine
	if o.d.Units != nil {
		for _, u := range o.d.Units() {
			kind := KindRouter
			if u.Name() == "charon" {
				kind = KindCharon
			}
			if !want(kind) {
				continue
			}
			for _, l := range u.Lines(q.Since) {
				out = append(out, LogLine{Time: l.Time, Kind: kind, Text: l.Text})
			}
		}
	}
	if want(KindSystem) && o.d.SystemLog != nil {
		now := o.d.Now()
		for _, l := range o.d.SystemLog() {
			out = append(out, LogLine{Time: slogTime(l, now), Kind: KindSystem, Text: l})
		}
	}
	sel := out[:0]
	for _, l := range out {
		if !q.Since.IsZero() && !l.Time.After(q.Since) {
			continue
		}
		if !q.Until.IsZero() && l.Time.After(q.Until) {
			continue
		}
		sel = append(sel, l)
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Time.Before(sel[j].Time) })
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	if len(sel) > limit {
		sel = sel[len(sel)-limit:]
	}
	return sel
}

// slogTime reads init's "time=15:04:05" (local clock, no date) as the
// latest such moment not after now.
func slogTime(line string, now time.Time) time.Time {
	rest, ok := strings.CutPrefix(line, "time=")
	if !ok || len(rest) < 8 {
		return now
	}
	t, err := time.ParseInLocation("15:04:05", rest[:8], now.Location())
	if err != nil {
		return now
	}
	d := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), t.Second(), 0, now.Location())
	if d.After(now.Add(time.Minute)) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}
