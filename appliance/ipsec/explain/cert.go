package explain

import (
	"fmt"
	"regexp"
	"time"
)

// Lines charon 5.9.8 logs while it checks the device's certificate
// (credential_manager.c), and when it lacks the box's own key.
var (
	// "subject certificate invalid (valid from Jan 01 00:00:00 2024 to Jan 01 00:00:00 2025)";
	// "issuer" when a CA on the path is the one outside its validity.
	certTimeRe = regexp.MustCompile(`^(subject|issuer) certificate invalid \(valid from (.+) to (.+)\)$`)
	// `no issuer certificate found for "CN=stranger, O=Tunneler tests"`, then `  issuer is "O=..., CN=Other CA"`.
	noIssuerRe = regexp.MustCompile(`^no issuer certificate found for "([^"]*)"`)
	issuerIsRe = regexp.MustCompile(`^\s*issuer is "([^"]*)"`)
	usingRe    = regexp.MustCompile(`^\s*using certificate "([^"]*)"`)
	// "no trusted ECDSA public key found for 'CN=old-peer, O=Tunneler tests'": the verdict.
	noTrustRe = regexp.MustCompile(`^no trusted \S+ public key found for '([^']*)'`)
	noKeyRe   = regexp.MustCompile(`^no private key found for '([^']*)'`)
)

// charonTime is how charon's %T prints a time (the box runs in UTC).
const charonTime = "Jan 02 15:04:05 2006"

// certLine reads one certificate line into e; the detail lines come
// before the verdict, which keeps them. It reports whether m was one.
func certLine(e *Explanation, m string, set func(kind, side string)) bool {
	switch {
	case usingRe.MatchString(m):
		e.SentID = usingRe.FindStringSubmatch(m)[1]
	case certTimeRe.MatchString(m):
		sm := certTimeRe.FindStringSubmatch(m)
		subject := e.SentID
		set(CertInvalid, Ours)
		e.SentID = subject
		if sm[1] == "issuer" {
			e.Issuer = "(a CA on its path)"
		}
		e.Validity = "valid from " + sm[2] + " to " + sm[3]
		if to, err := time.Parse(charonTime, sm[3]); err == nil && time.Now().After(to) {
			e.Expired = true
		}
	case noIssuerRe.MatchString(m):
		set(CertUntrusted, Ours)
		e.SentID = noIssuerRe.FindStringSubmatch(m)[1]
	case issuerIsRe.MatchString(m):
		e.Issuer = issuerIsRe.FindStringSubmatch(m)[1]
	case noTrustRe.MatchString(m):
		if e.Kind != CertInvalid && e.Kind != CertUntrusted {
			set(CertUntrusted, Ours)
		}
		e.SentID = noTrustRe.FindStringSubmatch(m)[1]
	case noKeyRe.MatchString(m):
		set(CertNoKey, Ours)
		e.SentID = noKeyRe.FindStringSubmatch(m)[1]
	default:
		return false
	}
	return true
}

func certSummary(e Explanation) string {
	switch {
	case e.Kind == CertNoKey:
		return fmt.Sprintf("this box has no private key for its certificate %q: make a new key and certificate on the Certificates page", e.SentID)
	case e.Kind == CertInvalid && e.Issuer != "":
		return fmt.Sprintf("the CA that issued the remote device's certificate %q is outside its validity (%s); renew the CA certificate, or check this box's clock", e.SentID, e.Validity)
	case e.Kind == CertInvalid && e.Expired:
		return fmt.Sprintf("the remote device's certificate %q has expired (%s); renew it on the device", e.SentID, e.Validity)
	case e.Kind == CertInvalid:
		return fmt.Sprintf("the remote device's certificate %q is not valid yet (%s); check this box's clock (NTP) and the device's", e.SentID, e.Validity)
	case e.Issuer != "":
		return fmt.Sprintf("the remote device's certificate %q was issued by %q, a CA this tunnel does not trust; import that CA on the Certificates page and choose it for the tunnel, or give the device a certificate from the tunnel's CA", e.SentID, e.Issuer)
	}
	return fmt.Sprintf("the remote device's certificate %q is not trusted by this tunnel: it is not from the tunnel's CA, or not the pinned certificate, or does not match the expected identity %q", e.SentID, e.ExpectedID)
}
