package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tunneler/tunneler/appliance/update"
)

// updateKeyVar names a release key; without it the build signs with a key
// of the user's own, made on first use, so a developer's boxes take only
// the developer's builds. Neither is ever in the repository.
const updateKeyVar = "TUNNELER_UPDATE_KEY"

// updateKeyPath is where the signing key is: $TUNNELER_UPDATE_KEY, or
// tunneler/update-key under the user's config folder.
func updateKeyPath() (path string, named bool, err error) {
	if p := os.Getenv(updateKeyVar); p != "" {
		return p, true, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", false, fmt.Errorf("no folder for the update signing key (set %s or HOME): %w", updateKeyVar, err)
	}
	return filepath.Join(dir, "tunneler", "update-key"), false, nil
}

// loadUpdateKey reads the signing key (PKCS#8 PEM), making it first if
// it is the user's own and missing. A named release key must exist.
func loadUpdateKey() (ed25519.PrivateKey, string, error) {
	path, named, err := updateKeyPath()
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !named {
		return makeUpdateKey(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("update signing key: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, "", fmt.Errorf("update signing key %s: not a PEM file", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("update signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("update signing key %s: a %T, want Ed25519", path, k)
	}
	return key, path, nil
}

func makeUpdateKey(path string) (ed25519.PrivateKey, string, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("update signing key: %w", err)
	}
	// O_EXCL: two builds at once must not each make a key.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadUpdateKey()
	}
	if err != nil {
		return nil, "", fmt.Errorf("update signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return nil, "", err
	}
	if err := f.Close(); err != nil {
		return nil, "", err
	}
	fmt.Printf("      made the update signing key %s (keep it: boxes built now take only bundles it signs)\n", path)
	return key, path, nil
}

// publicKeyFlag is the -X value that builds the public key into init.
func publicKeyFlag(key ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
}

// bundleName is the update bundle's file name in the board's folder.
func (b *builder) bundleName() string {
	return fmt.Sprintf("tunneler-%s.update", b.version)
}

// buildBundle writes the slot's parts as a signed update bundle, and the
// bundle's manifest beside it: the ESP's slot a carries that manifest, so
// the box knows the version and build time it runs.
func (b *builder) buildBundle() error {
	vmlinuz := filepath.Join(b.out, "vmlinuz")
	initrd := filepath.Join(b.out, "initrd")
	extras := filepath.Join(b.out, "extras.sqfs")
	out := filepath.Join(b.out, b.bundleName())
	manifest := filepath.Join(b.out, "slot-manifest.json")
	extra := fmt.Sprintf("v1 %s %s %s %s", b.board.Name, b.version, b.board.Cmdline, publicKeyFlag(b.updateKey))
	return b.step("update bundle "+b.bundleName(), []string{vmlinuz, initrd, extras}, extra, []string{out, manifest}, func() error {
		old, _ := filepath.Glob(filepath.Join(b.out, "tunneler-*.update"))
		for _, o := range old {
			os.Remove(o)
		}
		f, err := os.Create(out + ".new")
		if err != nil {
			return err
		}
		m, err := update.Write(f, b.updateKey, update.Manifest{Version: b.version, Board: b.board.Name,
			Built: time.Now().UTC().Truncate(time.Second), Cmdline: b.board.Cmdline},
			[]update.PartFile{{Name: "vmlinuz", Path: vmlinuz}, {Name: "initrd", Path: initrd}, {Name: "extras.sqfs", Path: extras}})
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out + ".new")
			return err
		}
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(manifest, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("      signed with %s (%s)\n", b.updateKeyPath, update.KeyID(b.updateKey.Public().(ed25519.PublicKey)))
		return os.Rename(out+".new", out)
	})
}
