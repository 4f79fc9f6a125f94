package config

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// MinPSKLength is the shortest pre-shared key accepted. A PSK is the only
// thing between an attacker who captured one IKE exchange and an offline
// dictionary attack on it, so it must not be guessable.
const MinPSKLength = 20

// pskAlphabet is URL-safe and free of characters that device GUIs, shells
// and ipsec.secrets quoting choke on (no quotes, no spaces, no '#').
const pskAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// generatedPSKLength gives 32 x 6 = 192 bits from the 64-symbol alphabet.
const generatedPSKLength = 32

// GeneratePSK returns a strong random pre-shared key: 32 characters of a
// URL-safe alphabet from crypto/rand (192 bits). It always passes the
// strength check.
func GeneratePSK() Secret {
	for {
		// rand.Text would do, but its base32 alphabet is upper case only;
		// 256 is a multiple of 64, so taking the low 6 bits is unbiased.
		var b [generatedPSKLength]byte
		rand.Read(b[:]) // never returns an error since Go 1.24; it panics instead
		for i := range b {
			b[i] = pskAlphabet[b[i]&63]
		}
		// A random key can, very rarely, contain a run the pattern check
		// flags; draw again rather than hand out a key we would reject.
		if pskWeakness(string(b[:])) == "" {
			return NewSecret(string(b[:]))
		}
	}
}

// generateHint ends every weak-PSK message: the operator should not have to
// invent a key.
const generateHint = "; use at least 20 random characters, or let the box generate a strong one"

// commonWords are parts of keys people actually type. They count for
// nothing toward a key's strength.
var commonWords = []string{
	"password", "passwort", "passw0rd", "p@ssw0rd", "secret", "letmein", "welcome",
	"changeme", "default", "admin", "root", "qwerty", "qwertz", "azerty",
	"asdf", "zxcv", "iloveyou", "monkey", "dragon", "master", "shadow",
	"sunshine", "football", "baseball", "trustno1", "abc123", "test",
	"ipsec", "vpn", "tunnel", "cisco", "fortinet", "fortigate", "paloalto",
	"pfsense", "strongswan", "sharedkey", "preshared", "psk", "company",
	"summer", "winter", "spring", "autumn", "key",
}

// pskWeakness says why a key is weak, or "" when it is acceptable.
func pskWeakness(psk string) string {
	n := len([]rune(psk))
	if n < MinPSKLength {
		return fmt.Sprintf("is %d characters long, which is too short to resist guessing%s", n, generateHint)
	}
	distinct := map[rune]bool{}
	classes := map[string]bool{}
	for _, r := range psk {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			classes["lower"] = true
		case unicode.IsUpper(r):
			classes["upper"] = true
		case unicode.IsDigit(r):
			classes["digit"] = true
		default:
			classes["other"] = true
		}
	}
	if len(distinct) < 8 {
		return fmt.Sprintf("uses only %d different characters%s", len(distinct), generateHint)
	}
	// Long keys of one class (e.g. 40 random lowercase letters) are
	// strong; short ones of one class are a word or a number.
	if len(classes) < 2 && n < 32 {
		return "uses only one kind of character (all letters of one case, or all digits); mix cases, digits and symbols" + generateHint
	}
	if eff := effectiveLength(psk); eff < 16 {
		return "is guessable: most of it is common words, repeated or sequential characters (like aaaa, 1234, abcd, qwerty)" + generateHint
	}
	return ""
}

// effectiveLength counts the characters of s that are not part of a common
// word, a run of one repeated character, a run of consecutive characters
// (abcd, 4321) or a repetition of an earlier block. It approximates how
// many characters an attacker with a good rule set still has to guess.
func effectiveLength(s string) int {
	r := []rune(strings.ToLower(s))
	covered := make([]bool, len(r))
	lower := string(r)
	for _, w := range commonWords {
		for i := 0; ; {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			// lower is ASCII-indexed only when s is ASCII; mark by
			// rune positions when it is not.
			start := len([]rune(lower[:i+j]))
			for k := start; k < start+len([]rune(w)); k++ {
				covered[k] = true
			}
			i += j + len(w)
		}
	}
	// Runs of 3 or more where every step is the same (0: repeat, +1/-1:
	// sequence) count as their first character only.
	for i := 0; i+2 < len(r); {
		d := r[i+1] - r[i]
		if d < -1 || d > 1 {
			i++
			continue
		}
		j := i + 1
		for j+1 < len(r) && r[j+1]-r[j] == d {
			j++
		}
		if j-i >= 2 {
			for k := i + 1; k <= j; k++ {
				covered[k] = true
			}
		}
		i = j
	}
	// A block that repeats an earlier block of 3 or more characters
	// ("Xy7!Xy7!Xy7!") adds nothing.
	for size := 3; size <= len(r)/2; size++ {
		for i := size; i+size <= len(r); i++ {
			if slices.Equal(r[i:i+size], r[i-size:i]) { // no string per window: a head-end checks thousands of keys per save
				for k := i; k < i+size; k++ {
					covered[k] = true
				}
			}
		}
	}
	n := 0
	for _, c := range covered {
		if !c {
			n++
		}
	}
	return n
}
