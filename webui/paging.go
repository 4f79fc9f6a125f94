package webui

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Long lists (a head-end's thousand tunnels and sites) are shown a page
// at a time, and searched, the same way on the pages and in the JSON API:
//
//	?q=TEXT&colour=green|orange|gray&page=N&per_page=M
//
// q matches a name, a peer address or a network: an address finds the
// networks that contain it, a network those that overlap it, any other
// text is matched case-insensitively as part of the name, peer or network.
// An address also finds the peer with that address (and no other).

const (
	defaultPerPage = 50
	maxPerPage     = 1000
	// overviewShown bounds the tunnels and sites the Overview lists; the
	// rest are counted, and found on the IPsec and Sites pages.
	overviewShown = 50
)

// listQuery is what a list page was asked for.
type listQuery struct {
	Q       string
	Colour  string
	Page    int
	PerPage int
}

func decodeListQuery(v url.Values) listQuery {
	q := listQuery{Q: strings.TrimSpace(v.Get("q")), Colour: v.Get("colour"), Page: 1, PerPage: defaultPerPage}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 1 {
		q.Page = n
	}
	if n, err := strconv.Atoi(v.Get("per_page")); err == nil && n > 0 {
		q.PerPage = min(n, maxPerPage)
	}
	switch q.Colour {
	case Green, Orange, Gray:
	default:
		q.Colour = ""
	}
	return q
}

// listPage says which part of a list an answer holds.
type listPage struct {
	Q       string `json:"q,omitempty"`
	Colour  string `json:"colour,omitempty"`
	Page    int    `json:"page"`
	PerPage int    `json:"per_page"`
	Pages   int    `json:"pages"`
	Total   int    `json:"total"`   // in the whole list
	Matched int    `json:"matched"` // of those, matching q and colour
	// First and Last number the items shown, from 1 (0 when none).
	First int `json:"first"`
	Last  int `json:"last"`
	// Path, Prev and Next are for the page's search form and links.
	Path string `json:"-"`
	Prev string `json:"-"`
	Next string `json:"-"`
}

// paginate returns the items of page q.Page among those keep accepts.
func paginate[T any](items []T, q listQuery, path string, keep func(T) bool) ([]T, listPage) {
	lp := listPage{Q: q.Q, Colour: q.Colour, Page: q.Page, PerPage: q.PerPage, Total: len(items), Path: path}
	matched := items
	if keep != nil {
		matched = make([]T, 0, len(items))
		for _, it := range items {
			if keep(it) {
				matched = append(matched, it)
			}
		}
	}
	lp.Matched = len(matched)
	lp.Pages = max(1, (lp.Matched+q.PerPage-1)/q.PerPage)
	if lp.Page > lp.Pages {
		lp.Page = lp.Pages
	}
	from := (lp.Page - 1) * q.PerPage
	to := min(from+q.PerPage, lp.Matched)
	if from < to {
		lp.First, lp.Last = from+1, to
	}
	if lp.Page > 1 {
		lp.Prev = lp.url(lp.Page - 1)
	}
	if lp.Page < lp.Pages {
		lp.Next = lp.url(lp.Page + 1)
	}
	return matched[from:to], lp
}

// url is the path of page n of the same search.
func (lp listPage) url(n int) string {
	v := url.Values{}
	if lp.Q != "" {
		v.Set("q", lp.Q)
	}
	if lp.Colour != "" {
		v.Set("colour", lp.Colour)
	}
	if lp.PerPage != defaultPerPage {
		v.Set("per_page", strconv.Itoa(lp.PerPage))
	}
	v.Set("page", strconv.Itoa(n))
	return lp.Path + "?" + v.Encode()
}

// search is a parsed q.
type search struct {
	text   string // lower case
	addr   netip.Addr
	prefix netip.Prefix
}

func newSearch(q string) search {
	s := search{text: strings.ToLower(q)}
	if a, err := netip.ParseAddr(q); err == nil {
		s.addr = a
	} else if p, err := netip.ParsePrefix(q); err == nil {
		s.prefix = p.Masked()
	}
	return s
}

// matches reports whether a thing with this name, peer and networks
// (CIDR strings) is what s looks for; an empty search matches all.
func (s search) matches(name, peer string, networks []string) bool {
	if s.text == "" {
		return true
	}
	if strings.Contains(strings.ToLower(name), s.text) {
		return true
	}
	if s.addr.IsValid() {
		// An address names one peer, not those that start like it.
		if a, err := netip.ParseAddr(peer); err == nil && a == s.addr {
			return true
		}
	} else if strings.Contains(strings.ToLower(peer), s.text) {
		return true
	}
	for _, n := range networks {
		p, err := netip.ParsePrefix(n)
		switch {
		case err == nil && s.addr.IsValid() && p.Contains(s.addr),
			err == nil && s.prefix.IsValid() && p.Overlaps(s.prefix),
			strings.Contains(n, s.text):
			return true
		}
	}
	return false
}

// colourCounts counts tunnels by colour, for the Overview's summary.
type colourCounts struct {
	Total  int `json:"total"`
	Green  int `json:"green"`
	Orange int `json:"orange"`
	Gray   int `json:"gray"`
}

func countColours(ts []TunnelStatus) colourCounts {
	c := colourCounts{Total: len(ts)}
	for _, t := range ts {
		switch t.Colour {
		case Green:
			c.Green++
		case Orange:
			c.Orange++
		default:
			c.Gray++
		}
	}
	return c
}

// urgency orders tunnels for the Overview: down after having been up
// (orange) first, then never up (gray), then up.
func urgency(colour string) int {
	switch colour {
	case Orange:
		return 0
	case Green:
		return 2
	}
	return 1
}
