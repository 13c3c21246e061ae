package postgres

import (
	"sync"
	"time"
)

// knownHeads are the audit chain heads that this process's group commits last committed, by org. A batch
// run together (writeBatchTogether) appends after such a head without reading or locking its row first,
// and moves it in its commit's round trip with a guarded UPDATE (qMoveGuardedHead) that fails the
// transaction unless the row still holds that head: when another replica, or another transaction of this
// process, has appended since, nothing commits and the batch runs again the ordinary way, locking the row
// first. An entry is only a guess; the guard keeps the chain linear, and the row lock the guarded UPDATE
// takes orders the batch with any appender of the org until it commits.
//
// Events are inserted before that lock is taken, so a guarded batch's events get their seq before it
// holds the head; the chain still follows seq order: a batch can know a head only once the transaction
// that made it has committed (its own process's last commit), so its inserts come after that
// transaction's, and a transaction that moved the head in between fails the guard.
type knownHeads struct {
	mu        sync.Mutex
	m         map[string]auditHead
	contended map[string]time.Time // orgs whose guess last failed, and when
}

// guessBackoff is how long an org whose guessed head was wrong is appended to the ordinary way: several
// replicas appending to one org would otherwise each fail their guesses in turn.
const guessBackoff = time.Second

// get returns the org's head as this process last committed it, unless a guess for it failed lately.
func (k *knownHeads) get(orgID string) (auditHead, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if at, ok := k.contended[orgID]; ok {
		if time.Since(at) < guessBackoff {
			return auditHead{}, false
		}
		delete(k.contended, orgID)
	}
	h, ok := k.m[orgID]
	return h, ok
}

// committed records the heads of a transaction that has committed; the transaction held each head's row
// locked, or moved it under a guard, so each is what its row holds now (until another append).
func (k *knownHeads) committed(heads map[string]auditHead) {
	if len(heads) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]auditHead{}
	}
	for org, h := range heads {
		k.m[org] = h
	}
}

// failed forgets the heads a transaction that did not commit guessed, and appends to their orgs the
// ordinary way for a while.
func (k *knownHeads) failed(guessed map[string]string) {
	if len(guessed) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.contended == nil {
		k.contended = map[string]time.Time{}
	}
	now := time.Now()
	for org := range guessed {
		delete(k.m, org)
		k.contended[org] = now
	}
}
