package webui

import (
	"context"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// The fake's certificate edits are the owner's (control.With...) on its
// config, saved through its Save.

func (f *fakeBox) MakeBoxCert(ctx context.Context, m control.MakeCert, base int, by control.Source) (config.FieldErrors, error) {
	f.mu.Lock()
	c, errs := control.WithNewBoxCert(f.cfg, m, f.now)
	f.mu.Unlock()
	if errs != nil {
		return errs, nil
	}
	return f.Save(ctx, control.Change{Config: c, Base: base, Source: by})
}

func (f *fakeBox) ImportCert(ctx context.Context, kind, name string, pem []byte, base int, by control.Source) (config.FieldErrors, error) {
	f.mu.Lock()
	c, errs, err := control.WithImportedCert(f.cfg, kind, name, pem, f.now)
	f.mu.Unlock()
	if errs != nil || err != nil {
		return errs, err
	}
	errs, err = f.Save(ctx, control.Change{Config: c, Base: base, Source: by})
	return control.CertFormErrors(errs), err
}

func (f *fakeBox) RemoveCert(ctx context.Context, kind, name string, base int, by control.Source) (config.FieldErrors, error) {
	f.mu.Lock()
	c, err := control.WithoutCert(f.cfg, kind, name)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Save(ctx, control.Change{Config: c, Base: base, Source: by})
}
