// Package migration reads a store's embedded schema migrations: files named NNNN_description.sql,
// numbered 1, 2, 3, … without gaps. A migration, once released, never changes; a schema change is a new
// file. Applying them is each store's business (it knows its locking and transactions).
package migration

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string // the file name
	SQL     string
}

// Load returns the *.sql files of dir in fsys in version order, or an error naming a badly named or
// out-of-sequence file.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, dir+"/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("bad migration file name %q", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q out of sequence (want version %d)", m.Name, i+1)
		}
	}
	return ms, nil
}

// VersionError says that a database's schema is not the version this binary works with. It is returned
// by the stores' open modes that check the schema without changing it (OpenCurrent).
type VersionError struct {
	Have int // the database's schema version; 0 for a database with no Clavis schema (empty or new)
	Want int // the newest version this binary knows
}

func (e *VersionError) Error() string {
	switch {
	case e.Have == 0:
		return fmt.Sprintf("the database holds no Clavis schema yet (this binary needs schema version %d)", e.Want)
	case e.Have < e.Want:
		return fmt.Sprintf("database schema version %d is older than this binary's %d", e.Have, e.Want)
	}
	return fmt.Sprintf("database schema version %d is newer than this binary supports (%d); upgrade clavis", e.Have, e.Want)
}

// Outdated reports whether migrating the database would bring it to the binary's version.
func (e *VersionError) Outdated() bool { return e.Have < e.Want }

// Check returns nil when have == want, and a *VersionError otherwise.
func Check(have, want int) error {
	if have == want {
		return nil
	}
	return &VersionError{Have: have, Want: want}
}
