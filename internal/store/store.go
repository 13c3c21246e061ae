// Package store defines the persistence contract of Clavis. It is shaped by the domain, not a generic
// key-value API, so that each implementation (store/sqlite, store/postgres) can make every operation a
// few indexed statements. The storetest package is the conformance suite every implementation runs.
//
// A store never sees a secret value: versions carry ciphertext and a wrapped data key only.
//
// Errors: a missing row is an error of kind clavis.KindNotFound (use ErrNotFound), a unique-constraint
// violation one of kind clavis.KindConflict (ErrConflict); anything else is an unexpected error.
//
// Times are stored and returned in clavis.TimeFormat precision (microseconds, UTC). Lists that the
// contract calls "in creation order" keep insertion order even for rows created in the same microsecond.
package store

import (
	"context"
	"time"

	"clavis.dev/clavis"
)

const (
	// ErrNotFound is returned when the addressed row does not exist.
	ErrNotFound clavis.Sentinel = "not_found: Not found"
	// ErrConflict is returned when a unique constraint would be violated.
	ErrConflict clavis.Sentinel = "conflict: Conflict"
)

// Store is a transactional database. It is safe for concurrent use.
type Store interface {
	// Read runs fn in a read-only transaction that sees one consistent snapshot.
	// fn must not call Write methods of the Tx.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction: if fn returns nil the transaction commits durably
	// (it survives a crash once Write returns nil); otherwise everything is rolled back and fn's error
	// is returned. Write transactions may be serialized; fn must be short and must not block on I/O
	// other than the Tx. fn may run more than once (an implementation may retry after a deadlock or a
	// serialization failure): it must have no effect outside the Tx other than results it sets afresh
	// on every run.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database is usable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// SecretHead is a secret with the metadata of its latest version.
type SecretHead struct {
	Secret *clavis.Secret
	Latest *clavis.Version
}

// AuditFilter selects audit events of one org. Empty strings and nil times do not filter.
type AuditFilter struct {
	OrgID      string
	ActorID    string
	ResourceID string
	Action     string
	VaultID    string     // matches Details["vault_id"]
	From       *time.Time // inclusive, compared with created_at
	To         *time.Time // exclusive
	Limit      int        // > 0
	Offset     int        // >= 0
}

// ChainHead is the end of an org's audit chain as AppendAudit records it, in the same transaction as
// each event.
type ChainHead struct {
	EventID string // the newest event; "" when the org has none
	Hash    string // its integrity hash
	Count   int64  // events appended to the chain
}

// Tx is one transaction. Its methods must only be used inside the Read or Write callback that received it.
type Tx interface {
	// --- server keys: named blobs wrapped by the root key (JWT signing keys, pepper, audit key) ---

	// ServerKey returns the named blob, or ErrNotFound.
	ServerKey(name string) ([]byte, error)
	// PutServerKey stores the named blob if no blob of that name exists, and returns the stored blob
	// (the existing one if another process stored it first).
	PutServerKey(name string, value []byte) ([]byte, error)
	// ServerKeyNames returns the names of every stored server key, sorted.
	ServerKeyNames() ([]string, error)
	// ReplaceServerKey overwrites an existing named blob (root-key rotation rewraps it); ErrNotFound if
	// there is none.
	ReplaceServerKey(name string, value []byte) error

	// --- orgs and users ---

	CreateOrg(o *clavis.Org) error
	GetOrg(id string) (*clavis.Org, error)
	// CountOrgs returns the number of orgs (for first-user signup mode).
	CountOrgs() (int, error)
	// ListOrgs returns every org in creation order (for operator tools such as offline audit verify).
	ListOrgs() ([]*clavis.Org, error)
	// CreateUser inserts a user; ErrConflict if the email is taken.
	CreateUser(u *User) error
	GetUser(id string) (*User, error)
	// GetUserByEmail looks up a lower-cased email.
	GetUserByEmail(email string) (*User, error)
	// UpdateUser writes every mutable field of u (all fields but ID, OrgID, Email, CreatedAt).
	UpdateUser(u *User) error
	// ListUsers returns the users of an org in creation order.
	ListUsers(orgID string) ([]*User, error)

	// --- multi-factor authentication ---

	// GetMFA returns a user's TOTP state, or ErrNotFound if the user never set MFA up.
	GetMFA(userID string) (*MFA, error)
	// PutMFA inserts or replaces a user's TOTP state.
	PutMFA(m *MFA) error

	// --- personal API keys ---

	CreateAPIKey(k *APIKey) error
	GetAPIKey(id string) (*APIKey, error)
	// GetAPIKeyByHash finds a key by its keyed hash (active or not).
	GetAPIKeyByHash(hash []byte) (*APIKey, error)
	// ListAPIKeys returns a user's keys in creation order.
	ListAPIKeys(userID string) ([]*APIKey, error)
	// UpdateAPIKey writes Name, Scopes, Active, ExpiresAt and LastUsedAt.
	UpdateAPIKey(k *APIKey) error

	// --- agents ---

	CreateAgent(a *Agent) error
	GetAgent(id string) (*Agent, error)
	// GetAgentByKeyHash finds the agent whose current key has this keyed hash.
	GetAgentByKeyHash(hash []byte) (*Agent, error)
	// ListAgents returns an org's agents in creation order.
	ListAgents(orgID string) ([]*Agent, error)
	// UpdateAgent writes every mutable field (all but ID, OrgID, CreatedBy, CreatedAt).
	UpdateAgent(a *Agent) error
	// DeleteAgent removes the agent row; ErrNotFound if absent.
	DeleteAgent(id string) error

	// --- vaults ---

	CreateVault(v *Vault) error
	GetVault(id string) (*Vault, error)
	// ListVaults returns an org's vaults in creation order.
	ListVaults(orgID string) ([]*Vault, error)
	// SystemVault returns the org's __agent-keys vault, or ErrNotFound.
	SystemVault(orgID string) (*Vault, error)
	// DeleteVault removes the vault, its wrapped key, secrets, versions and policies; ErrNotFound if absent.
	DeleteVault(id string) error

	// --- vault key versions ---

	// AddVaultKey inserts a key version of a vault; ErrConflict if that version exists. Deleting the vault
	// deletes its key versions.
	AddVaultKey(k *VaultKey) error
	// GetVaultKey returns one key version of a vault, or ErrNotFound.
	GetVaultKey(vaultID string, version int) (*VaultKey, error)
	// CurrentVaultKey returns the vault's highest key version, or ErrNotFound if it has none.
	CurrentVaultKey(vaultID string) (*VaultKey, error)
	// AllVaultKeys returns every key version of every vault (for root-key rotation), ordered by vault id
	// and version.
	AllVaultKeys() ([]*VaultKey, error)
	// RewrapVaultKey replaces the wrapped form of one key version (the key itself is unchanged: root-key
	// rotation); for version 1 it also replaces the vault's WrappedKey. ErrNotFound if absent.
	RewrapVaultKey(vaultID string, version int, wrapped []byte) error
	// CountEncryption atomically adds one to a key version's Encryptions and returns the new count;
	// ErrNotFound if the version does not exist. Exact under any concurrency.
	CountEncryption(vaultID string, version int) (int64, error)

	// --- secrets and versions ---

	// GetSecret returns the secret at (vaultID, path), deleted or not, or ErrNotFound.
	GetSecret(vaultID, path string) (*clavis.Secret, error)
	// GetSecretVersion returns the secret at path (deleted or not) and one of its versions (0: the
	// latest), ciphertext included, in one lookup: ErrNotFound when no secret was ever written at path;
	// a nil *Version when the secret has no such version.
	GetSecretVersion(vaultID, path string, version int) (*clavis.Secret, *Version, error)
	// EnsureSecret returns the secret at (vaultID, path), inserting s first if there is none
	// (s.ID, s.VaultID, s.Path, s.CreatedAt must be set). Safe against concurrent inserts.
	EnsureSecret(s *clavis.Secret) (*clavis.Secret, error)
	// NextVersion atomically increments the secret's latest version, clears its deleted flag and returns
	// the new number. Under any concurrency each caller gets a distinct number, without gaps once committed.
	NextVersion(secretID string) (int, error)
	// SetSecretDeleted sets or clears the soft-delete flag.
	SetSecretDeleted(secretID string, deleted bool) error
	// ListSecrets returns the vault's non-deleted secrets whose path starts with prefix, ordered by path
	// (byte order), each with its latest version's metadata.
	ListSecrets(vaultID, prefix string) ([]SecretHead, error)
	// PurgeSecrets hard-deletes the secrets (and versions) whose path starts with prefix.
	PurgeSecrets(vaultID, prefix string) error
	// AllSecrets returns every secret of a vault, soft-deleted ones included, ordered by path.
	AllSecrets(vaultID string) ([]*clavis.Secret, error)

	// CreateVersion inserts a version (its number comes from NextVersion).
	CreateVersion(v *Version) error
	// GetVersion returns one version with its ciphertext, or ErrNotFound.
	GetVersion(secretID string, version int) (*Version, error)
	// ListVersions returns the metadata of all versions of a secret, newest first.
	ListVersions(secretID string) ([]*clavis.Version, error)
	// ReplaceCiphertext replaces a version's Ciphertext and WrappedDEK (re-encryption under a newer vault
	// key) and nothing else; ErrNotFound if the version does not exist.
	ReplaceCiphertext(secretID string, version int, ciphertext, wrappedDEK []byte) error
	// SetVersionDisabled marks a version disabled (idempotent); ErrNotFound if absent.
	SetVersionDisabled(secretID string, version int) error
	// ConsumeAccess atomically counts one successful read of a version: if the version has no
	// MaxAccessCount, or AccessCount < MaxAccessCount, it increments AccessCount and returns true;
	// otherwise it changes nothing and returns false. Exact under any concurrency.
	ConsumeAccess(secretID string, version int) (bool, error)

	// --- policies ---

	CreatePolicy(p *clavis.Policy) error
	GetPolicy(id string) (*clavis.Policy, error)
	// ListPolicies returns a vault's policies in creation order.
	ListPolicies(vaultID string) ([]*clavis.Policy, error)
	// ListPrincipalPolicies returns the policies naming a principal on one vault, in creation order.
	ListPrincipalPolicies(vaultID string, pt clavis.PrincipalType, principalID string) ([]*clavis.Policy, error)
	// PrincipalPolicies returns the policies naming a principal on every vault, in creation order.
	PrincipalPolicies(pt clavis.PrincipalType, principalID string) ([]*clavis.Policy, error)
	// PolicyVaultIDs returns the ids of vaults that have at least one policy naming the principal and
	// not expired at now.
	PolicyVaultIDs(pt clavis.PrincipalType, principalID string, now time.Time) ([]string, error)
	// UpdatePolicy writes Permissions, Conditions, Effect, Priority, RequireApproval and ExpiresAt.
	UpdatePolicy(p *clavis.Policy) error
	// DeletePolicy removes a policy; ErrNotFound if absent.
	DeletePolicy(id string) error
	// DeletePrincipalPolicies removes every policy naming the principal.
	DeletePrincipalPolicies(pt clavis.PrincipalType, principalID string) error

	// --- destination configs (use without read) ---

	// GetUseConfig returns the destination config of a path, or ErrNotFound.
	GetUseConfig(vaultID, path string) (*clavis.UseConfig, error)
	// PutUseConfig inserts the config of (c.VaultID, c.Path), or replaces the rules and UpdatedAt of the
	// existing one (its CreatedBy, CreatedByType and CreatedAt are kept). Deleting the vault deletes it.
	PutUseConfig(c *clavis.UseConfig) error
	// DeleteUseConfig removes the config of a path; ErrNotFound if there is none.
	DeleteUseConfig(vaultID, path string) error

	// --- audit ---

	// AuditHead returns the id and integrity hash of the org's newest event ("" and "" if none). In a
	// Write transaction it also locks the org's chain head until commit, so chains stay linear across
	// concurrent writers and processes.
	AuditHead(orgID string) (id, hash string, err error)
	// AppendAudit inserts an event (already chained by the caller), makes it the org's chain head and
	// counts it in the head.
	AppendAudit(e *clavis.AuditEvent) error
	// ListAudit returns the events matching f, newest first (reverse chain order).
	ListAudit(f AuditFilter) ([]*clavis.AuditEvent, error)
	// AuditChain returns up to limit events of an org in chain order (oldest first), restricted to
	// from <= created_at < to when those are set.
	AuditChain(orgID string, from, to *time.Time, limit int) ([]*clavis.AuditEvent, error)
	// AuditChainAfter returns up to limit events of an org in chain order that follow the event afterID,
	// or that start the chain when afterID is ""; none when afterID is not an event of the org. A limit
	// <= 0 means no limit. Callers walk a long chain with it page by page, in constant memory.
	AuditChainAfter(orgID, afterID string, limit int) ([]*clavis.AuditEvent, error)
	// AuditChainHead returns the org's head with the number of events appended to its chain (the zero
	// ChainHead if the org has none), without locking it. Verification compares the end of the chain
	// with it: a chain cut short at its end is otherwise intact.
	AuditChainHead(orgID string) (ChainHead, error)

	// --- token revocation ---

	// RevokeToken records a revoked token id until its expiry (idempotent).
	RevokeToken(jti string, expiresAt time.Time) error
	// TokenRevoked reports whether a token id was revoked.
	TokenRevoked(jti string) (bool, error)
	// PruneRevokedTokens deletes revocations whose tokens expired before now.
	PruneRevokedTokens(now time.Time) error

	// --- approvals (spec §4.14) ---

	// CreateApproval inserts an approval. For a pending secret_access approval it is ErrConflict if one
	// is already pending for the same agent, vault, path and permission (at most one ever is).
	CreateApproval(a *Approval) error
	// PendingAccessApproval returns the pending secret_access approval of (agent, vault, path,
	// permission), or ErrNotFound.
	PendingAccessApproval(agentID, vaultID, path, permission string) (*Approval, error)
	// GetApproval returns one approval, or ErrNotFound.
	GetApproval(id string) (*Approval, error)
	// ListApprovals returns the approvals of an org with the given status ("" for all), newest first.
	ListApprovals(orgID, status string) ([]*Approval, error)
	// DecideApproval writes Status, DecidedBy, DecidedAt and DecisionReason of a pending approval;
	// ErrNotFound if the approval is not pending (or absent). Under concurrency exactly one decision wins.
	DecideApproval(a *Approval) error
	// ExpireApprovals marks every pending approval whose ExpiresAt is not after now expired.
	ExpireApprovals(now time.Time) error
	// UseGrant consumes one approved, unused secret_access grant of (agent, vault, path, permission)
	// decided after since: it sets UsedAt to now and returns the approval's id, or "" if there is none.
	// Exact under any concurrency, across processes: a grant is used at most once.
	UseGrant(agentID, vaultID, path, permission string, since, now time.Time) (string, error)

	// --- agent self-enrolment (spec §4.8) ---

	CreateEnrollment(e *Enrollment) error
	// GetEnrollment returns one enrolment, or ErrNotFound.
	GetEnrollment(id string) (*Enrollment, error)
	// ClaimEnrollment records an enrolment addressed to a (lower-cased) email at now, unless the last one
	// recorded for it is later than since: then it changes nothing and returns that last time (nil when
	// it recorded). Exact under any concurrency, across processes: of concurrent claims for one email
	// with the same since, one records.
	ClaimEnrollment(email string, now, since time.Time) (*time.Time, error)
	// ListEnrollments returns the enrolments addressed to a (lower-cased) email, newest first.
	ListEnrollments(email string) ([]*Enrollment, error)
	// DecideEnrollment writes Status, AgentID, OrgID and DecidedBy of a pending enrolment; ErrNotFound
	// if it is not pending (or absent).
	DecideEnrollment(e *Enrollment) error
	// ExpireEnrollments marks every pending enrolment whose ExpiresAt is not after now expired.
	ExpireEnrollments(now time.Time) error
	// DeliverEnrollmentKey sets KeyDelivered of an approved enrolment and reports whether this call set
	// it (exactly one caller does, under any concurrency).
	DeliverEnrollmentKey(id string) (bool, error)

	// --- notification deliveries ---

	// RecordDelivery inserts the outcome of one notice's delivery on one channel.
	RecordDelivery(d *clavis.Delivery) error
	// ListDeliveries returns the deliveries of a notice in creation order.
	ListDeliveries(noticeID string) ([]*clavis.Delivery, error)

	// --- sharing ---

	// GetSecretByID returns a secret by its stable id, deleted or not, or ErrNotFound.
	GetSecretByID(id string) (*clavis.Secret, error)
	// CreateShare inserts a share (SecretPath is not stored: it is the secret's).
	CreateShare(s *Share) error
	// GetShare returns a share with its secret's path, or ErrNotFound. Deleting a secret's vault deletes
	// its shares.
	GetShare(id string) (*Share, error)
	// ListSharesBy returns the shares created by a principal (bare id), newest first.
	ListSharesBy(createdBy string) ([]*Share, error)
	// ListSharesTo returns the shares whose RecipientID is the principal (bare id) and that are not
	// declined, newest first.
	ListSharesTo(recipientID string) ([]*Share, error)
	// ConsumeShare atomically counts one access of a share: if AccessCount < MaxAccessCount it increments
	// it and returns the new count and true; otherwise it changes nothing and returns false. Exact under
	// any concurrency, across processes sharing the database. ErrNotFound if the share does not exist.
	ConsumeShare(id string) (count int, ok bool, err error)
	// SetShareAnswer records the recipient's answer: accepted, or declined. ErrNotFound if absent.
	SetShareAnswer(id string, accepted, declined bool) error
	// DeleteShare removes a share; ErrNotFound if absent.
	DeleteShare(id string) error
	// DeleteSharesTo removes every share whose RecipientID is the principal (bare id).
	DeleteSharesTo(recipientID string) error
	// BindEmailShares sets RecipientID to userID on the unclaimed external_email shares for email.
	BindEmailShares(email, userID string) error

	// --- org: invitations, IP rules ---

	// LockOrg locks the org until the transaction ends, so that rules over the whole org (the last
	// owner) hold under concurrent writers and processes. ErrNotFound if absent.
	LockOrg(id string) error
	// PutInvite inserts or replaces the invitation of inv.Email.
	PutInvite(inv *clavis.Invite) error
	// GetInvite returns the invitation of a lower-cased email, or ErrNotFound.
	GetInvite(email string) (*clavis.Invite, error)
	// DeleteInvite removes the invitation of an email (absent is not an error).
	DeleteInvite(email string) error
	CreateIPRule(r *clavis.IPRule) error
	GetIPRule(id string) (*clavis.IPRule, error)
	// ListIPRules returns an org's rules in creation order.
	ListIPRules(orgID string) ([]*clavis.IPRule, error)
	// DeleteIPRule removes a rule; ErrNotFound if absent.
	DeleteIPRule(id string) error
	// --- dashboard sessions (docs/dashboard.md §1) ---

	// CreateWebSession inserts a session. Errors: ErrConflict (the id or the id hash exists).
	CreateWebSession(s *WebSession) error
	// WebSessionByHash returns the session whose id hashes to idHash, or ErrNotFound.
	WebSessionByHash(idHash []byte) (*WebSession, error)
	// TouchWebSession sets a session's last use, or returns ErrNotFound.
	TouchWebSession(id string, at time.Time) error
	// DeleteWebSession deletes a session; deleting a missing one is not an error.
	DeleteWebSession(id string) error
	// ListWebSessions lists a user's sessions, oldest first.
	ListWebSessions(userID string) ([]*WebSession, error)

	// --- readiness ---

	// WriteProbe rewrites the one readiness probe row with pad, which the caller makes random and a few
	// pages long: a transaction holding it commits only where real writes can (space, I/O, locks).
	WriteProbe(at time.Time, pad []byte) error

	// --- caching ---

	// StateEpoch returns the state epoch: a counter that every change to principals, their credentials,
	// token revocations, vaults, policies or IP rules increments in the transaction that makes it (by
	// triggers, whoever writes). A cache of those is current while the epoch is unchanged.
	StateEpoch() (int64, error)
}

// StateWatcher is implemented by stores that hear of state changes committed by other processes as they
// happen (PostgreSQL: LISTEN/NOTIFY on the channel the state epoch triggers notify).
type StateWatcher interface {
	// WatchState calls changed after each commit that changed the state epoch, by any process, until ctx
	// is done or the watch fails, and returns why it stopped. changed must not block.
	WatchState(ctx context.Context, changed func()) error
}

// EpochAtCommit is implemented by a Tx that can read the state epoch in the round trip of its commit
// (PostgreSQL, in a batch of the group commit): StateEpochAtCommit asks for the epoch as read by the
// transaction's last statement. fn receives it (or the error; then the transaction may not have
// committed) before the Write or WriteBatch running the transaction returns, or at once where the Tx
// reads it at once. Nothing may run in the transaction after the call.
type EpochAtCommit interface {
	StateEpochAtCommit(fn func(epoch int64, err error))
}

// WarmWriter is implemented by a store whose write transactions read more cheaply than a read
// transaction of its own does (SQLite: the one write connection keeps its page cache across its own
// commits, while every read transaction after a commit starts with an empty one). The engine then does
// the lookup of a secret read inside the group-commit unit that records the read.
type WarmWriter interface {
	WarmWriter()
}

// OneStatementReader is implemented by a store that can run a read of one statement in one round trip
// (PostgreSQL: BEGIN, the statement and COMMIT travel together, where Read takes a round trip for BEGIN
// with the first statement and one more for ROLLBACK). ReadOneStatement runs fn as Read does, with the
// same snapshot and read-only guarantees; when fn's first statement reads one row, the store may run it
// in such a transaction, and if fn then runs another statement, that statement fails and the store
// discards the run, whatever fn returned, and runs fn again in an ordinary Read. fn must therefore set
// its results afresh on every run, as for Write.
type OneStatementReader interface {
	ReadOneStatement(ctx context.Context, fn func(Tx) error) error
}

// ErrCommit marks a failure to begin or commit a write transaction: nothing of it was recorded. The
// engine answers 503 (fail closed) rather than 500 for it.
const ErrCommit clavis.Sentinel = "unavailable: The database cannot record changes right now"

// Batcher is implemented by stores that can group-commit: several independent units of work in one
// durable transaction. The engine uses it when available and falls back to one Write per unit.
type Batcher interface {
	// WriteBatch runs each fn in order inside one transaction, each within its own savepoint: a fn that
	// returns an error has exactly its own changes rolled back and its error reported; the others are
	// kept. Then the transaction commits once. errs has one entry per fn: fn's error, or nil if its changes
	// committed durably. If the transaction cannot begin or commit, every fn whose changes were kept gets
	// an error wrapping ErrCommit. fn must not call Store methods, and may run more than once (as for
	// Write).
	WriteBatch(ctx context.Context, fns []func(Tx) error) (errs []error)
}

// SingleBatcher is implemented by a Batcher whose WriteBatch commits even a single unit for less than
// Write does (PostgreSQL: a batch takes one or two round trips, a Write one per statement and two more). The
// engine then sends a unit that has no company through WriteBatch too.
type SingleBatcher interface {
	Batcher
	BatchesSingleUnits()
}
