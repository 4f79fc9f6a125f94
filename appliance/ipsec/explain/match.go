package explain

import (
	"slices"
	"strings"
)

// names maps strongSwan proposal keywords to the transform names charon
// logs. An integrity keyword in an IKE proposal also implies its PRF
// (strongSwan derives the PRF from it when none is named).
var names = map[string][]string{
	"aes128": {"AES_CBC_128"}, "aes192": {"AES_CBC_192"}, "aes256": {"AES_CBC_256"},
	"aes128gcm16": {"AES_GCM_16_128"}, "aes192gcm16": {"AES_GCM_16_192"}, "aes256gcm16": {"AES_GCM_16_256"},
	"aes128gcm12": {"AES_GCM_12_128"}, "aes256gcm12": {"AES_GCM_12_256"},
	"3des":             {"3DES_CBC"},
	"chacha20poly1305": {"CHACHA20_POLY1305_256"},
	"sha1":             {"HMAC_SHA1_96", "PRF_HMAC_SHA1"},
	"md5":              {"HMAC_MD5_96", "PRF_HMAC_MD5"},
	"sha256":           {"HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256"},
	"sha384":           {"HMAC_SHA2_384_192", "PRF_HMAC_SHA2_384"},
	"sha512":           {"HMAC_SHA2_512_256", "PRF_HMAC_SHA2_512"},
	"prfsha1":          {"PRF_HMAC_SHA1"},
	"prfsha256":        {"PRF_HMAC_SHA2_256"}, "prfsha384": {"PRF_HMAC_SHA2_384"}, "prfsha512": {"PRF_HMAC_SHA2_512"},
	"modp1024": {"MODP_1024"}, "modp1536": {"MODP_1536"}, "modp2048": {"MODP_2048"},
	"modp3072": {"MODP_3072"}, "modp4096": {"MODP_4096"},
	"ecp256": {"ECP_256"}, "ecp384": {"ECP_384"}, "ecp521": {"ECP_521"},
	"x25519": {"CURVE_25519"}, "curve25519": {"CURVE_25519"},
	"esn": {"EXT_SEQ"}, "noesn": {"NO_EXT_SEQ"},
}

// transform kinds, told apart by charon's names.
func kindOf(name string) string {
	switch {
	case strings.HasPrefix(name, "HMAC_"), strings.HasPrefix(name, "AES_XCBC"), strings.HasPrefix(name, "AES_CMAC"):
		return "integ"
	case strings.HasPrefix(name, "PRF_"):
		return "prf"
	case strings.HasPrefix(name, "MODP_"), strings.HasPrefix(name, "ECP_"), strings.HasPrefix(name, "CURVE_"), strings.HasPrefix(name, "KE_"):
		return "dh"
	case strings.HasSuffix(name, "EXT_SEQ"):
		return "esn"
	}
	return "encr"
}

// transforms groups a proposal's transforms by kind. It reads charon's
// notation ("IKE:AES_CBC_128/HMAC_SHA1_96/...") and strongSwan keywords
// ("aes128-sha1-modp1024").
func transforms(p string, ike bool) map[string][]string {
	out := map[string][]string{}
	add := func(n string) {
		k := kindOf(n)
		if k == "prf" && !ike {
			return
		}
		out[k] = append(out[k], n)
	}
	if i := strings.IndexByte(p, ':'); i >= 0 {
		for _, n := range strings.Split(p[i+1:], "/") {
			add(n)
		}
		return out
	}
	hasPRF := strings.Contains(p, "prf")
	for _, kw := range strings.Split(strings.ToLower(p), "-") {
		for _, n := range names[kw] {
			if kindOf(n) == "prf" && hasPRF && !strings.HasPrefix(kw, "prf") {
				continue // an explicit PRF wins over the one implied by integrity
			}
			add(n)
		}
	}
	return out
}

// Match reports whether two proposals, in either notation, share a choice
// for every transform. ESP's DH group and ESN are left out: charon drops
// the group of the first CHILD_SA, and either side may omit ESN.
func Match(a, b string, ike bool) bool {
	ta, tb := transforms(a, ike), transforms(b, ike)
	kinds := []string{"encr", "integ", "prf", "dh"}
	if !ike {
		kinds = []string{"encr", "integ"}
	}
	for _, k := range kinds {
		if len(ta[k]) == 0 && len(tb[k]) == 0 {
			continue
		}
		if !slices.ContainsFunc(ta[k], func(n string) bool { return slices.Contains(tb[k], n) }) {
			return false
		}
	}
	return true
}

// matchPreset names the first preset (by name, weak ones last) with a
// proposal that matches one offered; none reports that there were offers
// and no preset fits.
func matchPreset(offered []string, presets map[string]Preset, ike bool) (name string, none bool) {
	if len(offered) == 0 || len(presets) == 0 {
		return "", false
	}
	var ns []string
	for n := range presets {
		if n != "" {
			ns = append(ns, n)
		}
	}
	slices.SortFunc(ns, func(a, b string) int {
		if presets[a].Weak != presets[b].Weak {
			if presets[a].Weak {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, n := range ns {
		list := presets[n].ESP
		if ike {
			list = presets[n].IKE
		}
		for _, c := range list {
			for _, o := range offered {
				if Match(o, c, ike) {
					return n, false
				}
			}
		}
	}
	return "", true
}
