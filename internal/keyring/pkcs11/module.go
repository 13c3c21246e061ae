//go:build cgo

package pkcs11

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// module is a loaded and initialized PKCS#11 library, shared by every Provider of the process that uses
// it: C_Initialize may run only once per process.
type module struct {
	path     string // resolved, the registry key
	ctx      *p11.Ctx
	refs     int  // guarded by modules
	finalize bool // this package initialized the library, so it finalizes it
	createMu sync.Mutex
}

var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

// loadModule returns the module at path, loading and initializing it on first use.
func loadModule(path string) (*module, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("PKCS#11 module %s: not a regular file", path)
	}
	modules.Lock()
	defer modules.Unlock()
	if m := modules.m[real]; m != nil {
		m.refs++
		return m, nil
	}
	c := p11.New(real)
	if c == nil {
		return nil, fmt.Errorf("PKCS#11 module %s: cannot load it (not a shared library for this platform, or no C_GetFunctionList)", path)
	}
	finalize := true
	if err := c.Initialize(); err != nil {
		if !isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			c.Destroy()
			return nil, fmt.Errorf("PKCS#11 module %s: C_Initialize: %w", path, err)
		}
		finalize = false // initialized by other code in this process, which owns finalizing it
	}
	m := &module{path: real, ctx: c, refs: 1, finalize: finalize}
	modules.m[real] = m
	return m, nil
}

// release drops one reference; the last one finalizes and unloads the module.
func (m *module) release() {
	modules.Lock()
	defer modules.Unlock()
	if m.refs--; m.refs > 0 {
		return
	}
	delete(modules.m, m.path)
	if m.finalize {
		_ = m.ctx.Finalize() // best effort: the module is unloaded next, which releases it either way
	}
	m.ctx.Destroy()
}
