package adminpw

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=1$") {
		t.Errorf("hash %q is not in PHC argon2id form", h)
	}
	if strings.Contains(h, "correct") {
		t.Errorf("hash contains the password")
	}
	if err := Verify(h, "correct horse battery"); err != nil {
		t.Errorf("Verify(right password) = %v", err)
	}
	if err := Verify(h, "correct horse battery "); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(wrong password) = %v, want ErrMismatch", err)
	}
	h2, _ := Hash("correct horse battery")
	if h == h2 {
		t.Errorf("two hashes of one password are equal: no fresh salt")
	}
}

func TestHashRejectsShort(t *testing.T) {
	if _, err := Hash("short"); err == nil {
		t.Error("Hash accepted a 5-character password")
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	for _, h := range []string{
		"",
		"$2b$10$abcdefghijklmnopqrstuv",
		"$argon2id$v=18$m=65536,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=2,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$",
	} {
		if err := Verify(h, "whatever-password"); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a bad-hash error", h, err)
		}
	}
}
