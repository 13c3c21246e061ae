// Package storetest is the conformance suite of the store contract (package store). Every store
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// Where the contract in store.go is silent, the suite pins down the behaviour the engine relies on; each
// such test says so. In particular:
//
//   - An empty slice (Scopes, VaultIDs, Permissions, WrappedKey, …) may come back as nil or as an empty
//     slice; the suite treats them as equal. An empty Metadata or Conditions comes back as "{}".
//   - Update* and SetSecretDeleted return ErrNotFound when the row does not exist, like the Delete*
//     methods and SetVersionDisabled.
//   - ConsumeAccess returns ErrNotFound for a version that does not exist.
//   - ListSecrets lists only secrets that have a version at LatestVersion, so Latest is never nil.
//   - AuditChain and ListAudit treat a limit <= 0 as "no limit".
//   - Details of an audit event round-trip as JSON: json.Marshal of the stored and of the returned
//     Details are identical (the integrity hash does not cover them, but clients compare events); number
//     types may change.
//   - An org has at most one system vault: creating a second one is ErrConflict.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// Run runs the suite. For every subtest it calls open for a fresh, empty store, and closes that store
// when the subtest ends (t.Cleanup); open must not close it, but cleans up whatever else it creates
// (files, databases) through its own t.Cleanup or t.TempDir. Subtests run in parallel, so open must be
// safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Ping", testPing},
		{"WriteProbe", testWriteProbe},
		{"NotFound", testNotFound},
		{"WriteRollback", testWriteRollback},
		{"WriteCanceled", testWriteCanceled},
		{"WriteBatch", testWriteBatch},
		{"ReadSnapshot", testReadSnapshot},
		{"ReadIsReadOnly", testReadIsReadOnly},
		{"ReadOneStatement", testReadOneStatement},
		{"ServerKeys", testServerKeys},
		{"ServerKeysConcurrent", testServerKeysConcurrent},
		{"ServerKeyRotation", testServerKeyRotation},
		{"Orgs", testOrgs},
		{"ListOrgs", testListOrgs},
		{"MFA", testMFA},
		{"WebSessions", testWebSessions},
		{"Users", testUsers},
		{"UpdateUser", testUpdateUser},
		{"ListUsers", testListUsers},
		{"APIKeys", testAPIKeys},
		{"UpdateAPIKey", testUpdateAPIKey},
		{"Agents", testAgents},
		{"UpdateAgent", testUpdateAgent},
		{"DeleteAgent", testDeleteAgent},
		{"Vaults", testVaults},
		{"DeleteVault", testDeleteVault},
		{"Secrets", testSecrets},
		{"EnsureSecretConcurrent", testEnsureSecretConcurrent},
		{"ListSecrets", testListSecrets},
		{"ListSecretsLatest", testListSecretsLatest},
		{"PurgeSecrets", testPurgeSecrets},
		{"Versions", testVersions},
		{"ListVersions", testListVersions},
		{"NextVersionConcurrent", testNextVersionConcurrent},
		{"ConsumeAccess", testConsumeAccess},
		{"ConsumeAccessConcurrent", testConsumeAccessConcurrent},
		{"VaultKeys", testVaultKeys},
		{"CountEncryptionConcurrent", testCountEncryptionConcurrent},
		{"AllVaultKeys", testAllVaultKeys},
		{"RewrapVaultKey", testRewrapVaultKey},
		{"AllSecrets", testAllSecrets},
		{"ReplaceCiphertext", testReplaceCiphertext},
		{"Policies", testPolicies},
		{"ListPolicies", testListPolicies},
		{"UpdatePolicy", testUpdatePolicy},
		{"DeletePolicies", testDeletePolicies},
		{"PolicyVaultIDs", testPolicyVaultIDs},
		{"AuditAppend", testAuditAppend},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"ListAudit", testListAudit},
		{"AuditChain", testAuditChain},
		{"AuditChainConcurrent", testAuditChainConcurrent},
		{"AuditChainHead", testAuditChainHead},
		{"AuditChainAfter", testAuditChainAfter},
		{"RevokedTokens", testRevokedTokens},
		{"Approvals", testApprovals},
		{"UseGrantConcurrent", testUseGrantConcurrent},
		{"Enrollments", testEnrollments},
		{"ClaimEnrollmentConcurrent", testClaimEnrollmentConcurrent},
		{"GetSecretByID", testGetSecretByID},
		{"Shares", testShares},
		{"ConsumeShareConcurrent", testConsumeShareConcurrent},
		{"Invites", testInvites},
		{"IPRules", testIPRules},
		{"UseConfigs", testUseConfigs},
		{"StateEpoch", testStateEpoch},
		{"GetSecretVersion", testGetSecretVersion},
		{"AuditBatchRollback", testAuditBatchRollback},
		{"AuditBatchConflict", testAuditBatchConflict},
		{"EpochAtCommit", testEpochAtCommit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// --- transactions ---

// write runs fn in a Write transaction and fails the test on error.
func write(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// read runs fn in a Read transaction and fails the test on error.
func read(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Read(t.Context(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// get returns fn's result in a Read transaction and fails the test on error.
func get[T any](t *testing.T, s store.Store, fn func(store.Tx) (T, error)) T {
	t.Helper()
	var v T
	read(t, s, func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// put returns fn's result in a Write transaction and fails the test on error.
func put[T any](t *testing.T, s store.Store, fn func(store.Tx) (T, error)) T {
	t.Helper()
	var v T
	write(t, s, func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// create inserts each entity in one Write transaction.
func create(t *testing.T, s store.Store, entities ...any) {
	t.Helper()
	write(t, s, func(tx store.Tx) error {
		for _, e := range entities {
			var err error
			switch e := e.(type) {
			case *clavis.Org:
				err = tx.CreateOrg(e)
			case *store.User:
				err = tx.CreateUser(e)
			case *store.APIKey:
				err = tx.CreateAPIKey(e)
			case *store.Agent:
				err = tx.CreateAgent(e)
			case *store.Vault:
				err = tx.CreateVault(e)
			case *clavis.Secret:
				_, err = tx.EnsureSecret(e)
			case *store.Version:
				err = tx.CreateVersion(e)
			case *clavis.Policy:
				err = tx.CreatePolicy(e)
			case *clavis.AuditEvent:
				err = tx.AppendAudit(e)
			default:
				err = fmt.Errorf("create: unsupported %T", e)
			}
			if err != nil {
				return fmt.Errorf("create %T: %w", e, err)
			}
		}
		return nil
	})
}

// --- comparisons ---

// wantKind fails the test unless err is a *clavis.Error of kind k.
func wantKind(t *testing.T, what string, err error, k clavis.Kind) {
	t.Helper()
	if got := clavis.KindOf(err); err == nil || got != k {
		t.Errorf("%s: got error %v (kind %v), want kind %v", what, err, got, k)
	}
}

// check fails the test unless got and want are deeply equal once empty slices are treated as nil.
func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	normalize(reflect.ValueOf(&got).Elem())
	normalize(reflect.ValueOf(&want).Elem())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, show(got), show(want))
	}
}

// normalize sets every empty slice reachable from v through exported fields, pointers and slices to nil.
func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			normalize(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalize(f)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.SetZero()
			}
			return
		}
		for i := range v.Len() {
			normalize(v.Index(i))
		}
	}
}

// show renders v for a failure message.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// checkEvents compares audit events; Details are compared by their JSON encoding.
func checkEvents(t *testing.T, what string, got, want []*clavis.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d events %v, want %d %v", what, len(got), eventIDs(got), len(want), eventIDs(want))
		return
	}
	for i := range got {
		g, w := *got[i], *want[i] // #nosec G602 -- the lengths were compared above
		gd, _ := json.Marshal(g.Details)
		wd, _ := json.Marshal(w.Details)
		if string(gd) != string(wd) {
			t.Errorf("%s: event %d details: got %s, want %s", what, i, gd, wd)
		}
		g.Details, w.Details = nil, nil
		check(t, fmt.Sprintf("%s: event %d", what, i), g, w)
	}
}

func eventIDs(es []*clavis.AuditEvent) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// ids returns the id of each element.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

// --- fixtures ---

// t0 is an instant with microseconds, in UTC: it survives a store round trip unchanged.
var t0 = time.Date(2031, 2, 3, 4, 5, 6, 789012000, time.UTC)

// at returns t0 plus sec seconds.
func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ptr[T any](v T) *T { return &v }

func newID() string { return uuid.NewString() }

// descendingIDs returns n uuids in descending order, so that creation order differs from id order.
func descendingIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = newID()
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func newOrg() *clavis.Org { return &clavis.Org{ID: newID(), Name: "Acme", CreatedAt: t0} }

func newUser(org *clavis.Org) *store.User {
	id := newID()
	return &store.User{User: clavis.User{ID: id, OrgID: org.ID, Email: id + "@example.com", DisplayName: "Ada", // #nosec G101 -- a test user, no credential
		Role: clavis.RoleOwner, CreatedAt: t0}, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"}
}

func newAPIKey(u *store.User) *store.APIKey {
	id := newID()
	return &store.APIKey{APIKey: clavis.APIKey{ID: id, UserID: u.ID, OrgID: u.OrgID, Name: "ci",
		Prefix: "1ck_" + id[:4], Scopes: []string{"vaults:read"}, Active: true, CreatedAt: t0}, Hash: []byte("hash-" + id)}
}

func newAgent(u *store.User) *store.Agent {
	id := newID()
	return &store.Agent{Agent: clavis.Agent{ID: id, OrgID: u.OrgID, Name: "bot", Active: true, CreatedBy: u.ID,
		CreatedAt: t0}, KeyHash: []byte("key-" + id), TokenGen: 1}
}

func newVault(u *store.User) *store.Vault {
	return &store.Vault{Vault: clavis.Vault{ID: newID(), OrgID: u.OrgID, Name: "prod", CreatedBy: u.ID,
		CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, CreatedAt: t0}, WrappedKey: []byte("wrapped-vault-key")}
}

func newSecret(v *store.Vault, path string) *clavis.Secret {
	return &clavis.Secret{ID: newID(), VaultID: v.ID, Path: path, CreatedAt: t0}
}

func newVersion(s *clavis.Secret, n int) *store.Version {
	return &store.Version{Version: clavis.Version{SecretID: s.ID, Version: n, Type: "generic",
		Metadata: json.RawMessage(`{}`), CreatedBy: "user:" + newID(), CreatedAt: t0}, Ciphertext: []byte(fmt.Sprintf("ct-%s-%d", s.ID, n)), WrappedDEK: []byte("dek")}
}

func newPolicy(v *store.Vault, pt clavis.PrincipalType, principalID string) *clavis.Policy {
	return &clavis.Policy{ID: newID(), VaultID: v.ID, Pattern: "**", PrincipalType: pt, PrincipalID: principalID,
		Permissions: []clavis.Permission{clavis.PermRead}, Conditions: json.RawMessage(`{}`),
		Effect: clavis.EffectAllow, CreatedBy: v.CreatedBy, CreatedByType: clavis.PrincipalUser, CreatedAt: t0}
}

// seed creates an org with one user and one vault.
func seed(t *testing.T, s store.Store) (*clavis.Org, *store.User, *store.Vault) {
	t.Helper()
	org := newOrg()
	u := newUser(org)
	v := newVault(u)
	create(t, s, org, u, v)
	return org, u, v
}

// addSecret creates a secret at path in v with versions 1..n (through NextVersion) and returns it as
// stored along with its versions.
func addSecret(t *testing.T, s store.Store, v *store.Vault, path string, n int) (*clavis.Secret, []*store.Version) {
	t.Helper()
	var sec *clavis.Secret
	var vs []*store.Version
	write(t, s, func(tx store.Tx) error {
		var err error
		if sec, err = tx.EnsureSecret(newSecret(v, path)); err != nil {
			return err
		}
		for range n {
			num, err := tx.NextVersion(sec.ID)
			if err != nil {
				return err
			}
			ver := newVersion(sec, num)
			if err := tx.CreateVersion(ver); err != nil {
				return err
			}
			vs = append(vs, ver)
		}
		sec, err = tx.GetSecret(v.ID, path)
		return err
	})
	return sec, vs
}

// parallel runs fn(i) for i in [0, n) concurrently and returns the errors in order of i.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			errs[i] = fn(i)
		}()
	}
	for range n {
		<-done
	}
	return errs
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// testWriteProbe: the readiness probe row is rewritten by every probe, never duplicated.
func testWriteProbe(t *testing.T, s store.Store) {
	for i := range 3 {
		pad := make([]byte, 8<<10)
		pad[0] = byte(i)
		if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.WriteProbe(clavis.Now(), pad) }); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
}

// testNotFound: every lookup and delete of a row that does not exist is KindNotFound.
func testNotFound(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "exists", 1)
	missing := newID()
	tests := []struct {
		name string
		fn   func(store.Tx) error
	}{
		{"ServerKey", func(tx store.Tx) error { _, err := tx.ServerKey("missing"); return err }},
		{"ReplaceServerKey", func(tx store.Tx) error { return tx.ReplaceServerKey("missing", []byte("v")) }},
		{"GetOrg", func(tx store.Tx) error { _, err := tx.GetOrg(missing); return err }},
		{"GetUser", func(tx store.Tx) error { _, err := tx.GetUser(missing); return err }},
		{"GetUserByEmail", func(tx store.Tx) error { _, err := tx.GetUserByEmail("nobody@example.com"); return err }},
		{"UpdateUser", func(tx store.Tx) error { x := newUser(&clavis.Org{ID: u.OrgID}); return tx.UpdateUser(x) }},
		{"GetAPIKey", func(tx store.Tx) error { _, err := tx.GetAPIKey(missing); return err }},
		{"GetAPIKeyByHash", func(tx store.Tx) error { _, err := tx.GetAPIKeyByHash([]byte("missing")); return err }},
		{"UpdateAPIKey", func(tx store.Tx) error { return tx.UpdateAPIKey(newAPIKey(u)) }},
		{"GetAgent", func(tx store.Tx) error { _, err := tx.GetAgent(missing); return err }},
		{"GetAgentByKeyHash", func(tx store.Tx) error { _, err := tx.GetAgentByKeyHash([]byte("missing")); return err }},
		{"UpdateAgent", func(tx store.Tx) error { return tx.UpdateAgent(newAgent(u)) }},
		{"DeleteAgent", func(tx store.Tx) error { return tx.DeleteAgent(missing) }},
		{"GetVault", func(tx store.Tx) error { _, err := tx.GetVault(missing); return err }},
		{"SystemVault", func(tx store.Tx) error { _, err := tx.SystemVault(u.OrgID); return err }},
		{"DeleteVault", func(tx store.Tx) error { return tx.DeleteVault(missing) }},
		{"GetSecret/path", func(tx store.Tx) error { _, err := tx.GetSecret(v.ID, "missing"); return err }},
		{"GetSecret/vault", func(tx store.Tx) error { _, err := tx.GetSecret(missing, "exists"); return err }},
		{"NextVersion", func(tx store.Tx) error { _, err := tx.NextVersion(missing); return err }},
		{"SetSecretDeleted", func(tx store.Tx) error { return tx.SetSecretDeleted(missing, true) }},
		{"GetVersion/number", func(tx store.Tx) error { _, err := tx.GetVersion(sec.ID, 2); return err }},
		{"GetVersion/secret", func(tx store.Tx) error { _, err := tx.GetVersion(missing, 1); return err }},
		{"SetVersionDisabled", func(tx store.Tx) error { return tx.SetVersionDisabled(sec.ID, 2) }},
		{"ConsumeAccess", func(tx store.Tx) error { _, err := tx.ConsumeAccess(sec.ID, 2); return err }},
		{"ReplaceCiphertext", func(tx store.Tx) error { return tx.ReplaceCiphertext(sec.ID, 2, []byte("c"), []byte("d")) }},
		{"GetVaultKey", func(tx store.Tx) error { _, err := tx.GetVaultKey(v.ID, 1); return err }},
		{"CurrentVaultKey", func(tx store.Tx) error { _, err := tx.CurrentVaultKey(v.ID); return err }},
		{"CountEncryption", func(tx store.Tx) error { _, err := tx.CountEncryption(v.ID, 1); return err }},
		{"RewrapVaultKey", func(tx store.Tx) error { return tx.RewrapVaultKey(v.ID, 1, []byte("w")) }},
		{"GetPolicy", func(tx store.Tx) error { _, err := tx.GetPolicy(missing); return err }},
		{"UpdatePolicy", func(tx store.Tx) error { return tx.UpdatePolicy(newPolicy(v, clavis.PrincipalUser, u.ID)) }},
		{"DeletePolicy", func(tx store.Tx) error { return tx.DeletePolicy(missing) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Write(t.Context(), tc.fn)
			wantKind(t, tc.name, err, clavis.KindNotFound)
		})
	}
}

// testWriteRollback: a Write whose fn fails leaves nothing behind and returns fn's error unchanged.
func testWriteRollback(t *testing.T, s store.Store) {
	errPlain := fmt.Errorf("plain failure")
	errClavis := clavis.E(clavis.KindForbidden, "Insufficient permissions")
	for _, wantErr := range []error{errPlain, errClavis} {
		org := newOrg()
		u := newUser(org)
		v := newVault(u)
		err := s.Write(t.Context(), func(tx store.Tx) error {
			if err := tx.CreateOrg(org); err != nil {
				return err
			}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			if err := tx.CreateVault(v); err != nil {
				return err
			}
			sec, err := tx.EnsureSecret(newSecret(v, "x"))
			if err != nil {
				return err
			}
			if _, err := tx.NextVersion(sec.ID); err != nil {
				return err
			}
			if err := tx.CreateVersion(newVersion(sec, 1)); err != nil {
				return err
			}
			if _, err := tx.PutServerKey("k-"+org.ID, []byte("v")); err != nil {
				return err
			}
			return wantErr
		})
		if err != wantErr {
			t.Errorf("Write returned %v, want fn's error %v unchanged", err, wantErr)
		}
	}
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 0 {
		t.Errorf("CountOrgs after rolled-back Writes = %d, want 0", n)
	}

	// A conflict in the middle of fn, returned by fn, rolls back what came before it.
	org, u, _ := seed(t, s)
	org2 := newOrg()
	dup := newUser(org)
	dup.Email = u.Email
	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(org2); err != nil {
			return err
		}
		return tx.CreateUser(dup)
	})
	wantKind(t, "Write with duplicate email", err, clavis.KindConflict)
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetOrg(org2.ID)
		wantKind(t, "GetOrg of rolled-back org", err, clavis.KindNotFound)
		return nil
	})
}

// testWriteCanceled: a Write under a canceled context fails and commits nothing.
func testWriteCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	org := newOrg()
	err := s.Write(ctx, func(tx store.Tx) error { return tx.CreateOrg(org) })
	if err == nil {
		t.Errorf("Write with canceled context returned nil")
	}
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 0 {
		t.Errorf("CountOrgs after canceled Write = %d, want 0", n)
	}
}

// testReadIsReadOnly: a Write method called in a Read transaction fails and changes nothing.
func testReadIsReadOnly(t *testing.T, s store.Store) {
	err := s.Read(t.Context(), func(tx store.Tx) error {
		return tx.CreateOrg(&clavis.Org{ID: "o", CreatedAt: clavis.Now()})
	})
	if err == nil {
		t.Errorf("CreateOrg in a Read transaction succeeded")
	}
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 0 {
		t.Errorf("CountOrgs = %d, want 0", n)
	}
}

// countsAroundWrite counts the orgs in tx, commits one more org through s, and counts them in tx again.
func countsAroundWrite(t *testing.T, s store.Store, tx store.Tx) (before, after int, err error) {
	if before, err = tx.CountOrgs(); err != nil {
		return 0, 0, err
	}
	if err = s.Write(t.Context(), func(wtx store.Tx) error { return wtx.CreateOrg(newOrg()) }); err != nil {
		return 0, 0, err
	}
	after, err = tx.CountOrgs()
	return before, after, err
}

// testReadSnapshot: a Read transaction does not see a Write that commits while it runs.
func testReadSnapshot(t *testing.T, s store.Store) {
	create(t, s, newOrg())
	read(t, s, func(tx store.Tx) error {
		before, after, err := countsAroundWrite(t, s, tx)
		if err == nil && after != before {
			t.Errorf("CountOrgs in one Read: %d, then %d after a concurrent Write; want one snapshot", before, after)
		}
		return err
	})
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 2 {
		t.Errorf("CountOrgs after the Read = %d, want 2", n)
	}
}

// testReadOneStatement (store.OneStatementReader): a read of one statement answers as Read does; a run
// that needs a second statement is run again in full, whatever it returned, in one read-only snapshot.
func testReadOneStatement(t *testing.T, s store.Store) {
	r, ok := s.(store.OneStatementReader)
	if !ok {
		t.Skip("the store has no reads of one statement")
	}
	org1, org2 := newOrg(), newOrg()
	create(t, s, org1, org2)

	runs := 0
	var got *clavis.Org
	err := r.ReadOneStatement(t.Context(), func(tx store.Tx) error {
		runs++
		var err error
		got, err = tx.GetOrg(org1.ID)
		return err
	})
	if err != nil || got == nil || got.ID != org1.ID || runs != 1 {
		t.Errorf("one statement: org %+v, err %v, %d runs; want org %s, nil, 1 run", got, err, runs, org1.ID)
	}
	err = r.ReadOneStatement(t.Context(), func(tx store.Tx) error {
		_, err := tx.GetOrg(newID())
		return err
	})
	wantKind(t, "one statement finding nothing", err, clavis.KindNotFound)

	// The second statement's failure is swallowed: the run is discarded all the same.
	runs = 0
	var second error
	err = r.ReadOneStatement(t.Context(), func(tx store.Tx) error {
		runs++
		if _, err := tx.GetOrg(org1.ID); err != nil {
			return err
		}
		_, second = tx.GetOrg(org2.ID)
		return nil
	})
	if err != nil || second != nil || runs > 2 {
		t.Errorf("two statements: err %v, second statement's err %v in the last run, %d runs; want nil, nil, at most 2", err, second, runs)
	}

	// The run that counts sees one snapshot.
	err = r.ReadOneStatement(t.Context(), func(tx store.Tx) error {
		before, after, err := countsAroundWrite(t, s, tx)
		if err == nil && after != before {
			return fmt.Errorf("CountOrgs %d, then %d after a concurrent Write; want one snapshot", before, after)
		}
		return err
	})
	if err != nil {
		t.Errorf("two statements around a Write: %v", err)
	}

	n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() })
	err = r.ReadOneStatement(t.Context(), func(tx store.Tx) error { return tx.CreateOrg(newOrg()) })
	if err == nil {
		t.Errorf("CreateOrg in a read of one statement succeeded")
	}
	if after := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); after != n {
		t.Errorf("CountOrgs = %d after a refused CreateOrg, want %d", after, n)
	}
}
