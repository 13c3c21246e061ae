package crashtest

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// record is one version of a secret that the test knows to exist.
type record struct {
	path    string
	version int
	value   string
	// acked: the server answered the PUT with 201. Otherwise the version is a write whose answer the
	// kill cut off and which a check after the restart found committed (with a value the test sent).
	acked bool
}

// ledger is everything the test knows about the vault: the versions known to exist, the values of
// writes whose outcome is unknown (in flight at the kill), the audit checkpoints, and the problems
// found. Lost and corrupt findings are keyed, so that one damaged record seen again after later
// restarts is counted once. It is safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	versions map[string]map[int]*record // path → version → record
	latest   map[string]int             // path → highest version known to exist
	secretID map[string]string          // path → the secret id, stable across versions (spec §4.5.4)
	unknown  map[string]map[string]bool // path → values sent without a definite answer, this cycle
	dropped  map[string]map[string]bool // path → unknown values that were absent after the restart
	acked    int
	lost     map[string]string // "path@version" → what was wrong; acknowledged writes only
	corrupt  map[string]string // finding key → what was wrong
}

func newLedger() *ledger {
	return &ledger{
		versions: map[string]map[int]*record{}, latest: map[string]int{}, secretID: map[string]string{},
		unknown: map[string]map[string]bool{}, dropped: map[string]map[string]bool{},
		lost: map[string]string{}, corrupt: map[string]string{},
	}
}

// ack records a 201 answer to a PUT of value at path. Each path has a single writer with at most one
// request outstanding, so the version must be exactly one past the highest known, unless a write of
// this cycle to the same path has an unknown outcome (it may have taken a number).
func (l *ledger) ack(path string, version int, gotPath, secretID, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked++
	key := fmt.Sprintf("%s@%d", path, version)
	if gotPath != path {
		l.corrupt[key+" put path"] = fmt.Sprintf("PUT %s answered for path %q", path, gotPath)
	}
	if id, ok := l.secretID[path]; ok && secretID != id {
		l.corrupt[key+" put id"] = fmt.Sprintf("PUT answered secret id %s, known id %s", secretID, id)
	} else if !ok {
		l.secretID[path] = secretID
	}
	if old, ok := l.versions[path][version]; ok {
		l.corrupt[key+" put twice"] = fmt.Sprintf("version %d handed out twice (first acked=%v)", version, old.acked)
	}
	want := l.latest[path] + 1
	if version < want || (version > want && len(l.unknown[path]) == 0) {
		l.corrupt[key+" put number"] = fmt.Sprintf("PUT got version %d, want %d (no gaps, no duplicates)", version, want)
	}
	if l.versions[path] == nil {
		l.versions[path] = map[int]*record{}
	}
	l.versions[path][version] = &record{path: path, version: version, value: value, acked: true}
	l.latest[path] = max(l.latest[path], version)
}

// addUnknown records a PUT of value at path whose outcome is unknown.
func (l *ledger) addUnknown(path, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unknown[path] == nil {
		l.unknown[path] = map[string]bool{}
	}
	l.unknown[path][value] = true
}

// paths returns every path written to so far, sorted.
func (l *ledger) paths() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := map[string]bool{}
	for p := range l.versions {
		set[p] = true
	}
	for p := range l.unknown {
		set[p] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// expectation is what a check reads for one path: the highest version known and the known records.
func (l *ledger) expectation(path string) (latest int, known map[int]record, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	known = map[int]record{}
	for v, r := range l.versions[path] {
		known[v] = *r
	}
	return l.latest[path], known, l.secretID[path]
}

// found records a version that was not known before a restart and whose value the check read. It
// must be one of the unknown writes of the path; anything else is corrupt.
func (l *ledger) found(path string, version int, value string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := fmt.Sprintf("%s@%d", path, version)
	switch {
	case l.unknown[path][value]:
		delete(l.unknown[path], value)
	case l.dropped[path][value]:
		l.corrupt[key+" late"] = "a write absent after an earlier restart appeared later"
	default:
		l.corrupt[key+" phantom"] = "version holds a value the test never wrote"
		return false
	}
	if l.versions[path] == nil {
		l.versions[path] = map[int]*record{}
	}
	l.versions[path][version] = &record{path: path, version: version, value: value}
	return true
}

// settle ends a check: the versions listed for each path are now known (latest), and unknown writes
// that were not found were never committed.
func (l *ledger) settle(listed map[string]int) (dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, n := range listed {
		l.latest[p] = max(l.latest[p], n)
	}
	for p, vals := range l.unknown {
		for v := range vals {
			if l.dropped[p] == nil {
				l.dropped[p] = map[string]bool{}
			}
			l.dropped[p][v] = true
			dropped++
		}
	}
	l.unknown = map[string]map[string]bool{}
	return dropped
}

// setID remembers the secret id of a path first seen in a listing.
func (l *ledger) setID(path, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.secretID[path]; !ok {
		l.secretID[path] = id
	}
}

// loseAcked records that an acknowledged write is gone or altered.
func (l *ledger) loseAcked(path string, version int, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := fmt.Sprintf("%s@%d", path, version)
	if _, ok := l.lost[key]; !ok {
		l.lost[key] = why
	}
}

// addCorrupt records a damaged or inconsistent record; key identifies the finding across cycles.
func (l *ledger) addCorrupt(key, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.corrupt[key]; !ok {
		l.corrupt[key] = why
	}
}

// totals returns the acknowledged writes and the numbers of lost and corrupt findings.
func (l *ledger) totals() (acked, lost, corrupt int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, len(l.lost), len(l.corrupt)
}

// report lists up to n findings of each kind, sorted, for a failure message.
func (l *ledger) report(n int) (lost, corrupt []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := func(m map[string]string) []string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if len(out) == n {
				out = append(out, fmt.Sprintf("… and %d more", len(m)-n))
				break
			}
			out = append(out, k+": "+m[k])
		}
		return out
	}
	return list(l.lost), list(l.corrupt)
}
