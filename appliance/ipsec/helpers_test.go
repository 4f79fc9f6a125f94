package ipsec

import "os"

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
