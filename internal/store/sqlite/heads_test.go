package sqlite

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// headsJoin is what secret_heads must always hold (migrations 0013 and 0014).
const headsJoin = `SELECT s.vault_id, s.path, s.id, s.latest_version, s.created_at, v.type, v.metadata,
		coalesce(v.expires_at, '-'), v.max_access_count, v.access_count, v.disabled, v.created_by, v.created_at, v.seq
	FROM secrets s JOIN versions v ON v.secret_id = s.id AND v.version = s.latest_version
	WHERE s.deleted = 0 ORDER BY s.vault_id, s.path`

const headsTable = `SELECT vault_id, path, secret_id, latest_version, created_at, type, metadata,
		coalesce(expires_at, '-'), max_access_count, access_count, disabled, created_by, v_created_at, v_seq
	FROM secret_heads ORDER BY vault_id, path`

// dumpRows renders every row of q, one line per row.
func dumpRows(t *testing.T, s *Store, q string) []string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		cols := make([]any, 14)
		ptrs := make([]any, len(cols))
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(cols...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecretHeadsFollowWrites runs a random sequence of every store write that touches secrets or
// versions and checks after each that secret_heads equals the join it stands for, and that ListSecrets
// agrees with the join.
func TestSecretHeadsFollowWrites(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	now := clavis.Now()
	org := &clavis.Org{ID: "org", Name: "acme", CreatedAt: now}
	vaults := []string{"v1", "v2", "v3"}
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(org); err != nil {
			return err
		}
		for _, id := range vaults {
			if err := tx.CreateVault(&store.Vault{Vault: clavis.Vault{ID: id, OrgID: org.ID, Name: id, CreatedAt: now}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	paths := []string{"a", "a/b", "a/c", "b", "b/x/y", "c"}
	ids := map[string]string{}         // vault/path → secret id
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- reproducible test data, not a secret
	ops := map[string]int{}
	for step := range 600 {
		vid := vaults[rng.IntN(len(vaults))]
		path := paths[rng.IntN(len(paths))]
		op := []string{"write", "write", "write", "delete", "revive", "disable", "consume", "rewrap", "bump",
			"purge", "deletevault", "dropversion"}[rng.IntN(12)]
		if op == "deletevault" && rng.IntN(4) > 0 {
			op = "write" // keep vaults populated most of the time
		}
		err := s.Write(t.Context(), func(tx store.Tx) error {
			id, known := ids[vid+"/"+path]
			var sec *clavis.Secret
			if known {
				var err error
				if sec, err = tx.GetSecret(vid, path); err != nil {
					return err
				}
			}
			switch {
			case op == "write" || !known && op != "purge" && op != "deletevault":
				op = "write"
				if !known {
					id = fmt.Sprintf("s%d", step)
				}
				got, err := tx.EnsureSecret(&clavis.Secret{ID: id, VaultID: vid, Path: path, CreatedAt: now})
				if err != nil {
					return err
				}
				ids[vid+"/"+path] = got.ID
				n, err := tx.NextVersion(got.ID)
				if err != nil {
					return err
				}
				v := clavis.Version{SecretID: got.ID, Version: n, Type: []string{"generic", "password"}[rng.IntN(2)],
					Metadata: []byte(fmt.Sprintf(`{"n":%d}`, step)), MaxAccessCount: rng.IntN(3), CreatedBy: "user:u",
					CreatedAt: now.Add(time.Duration(step) * time.Second)}
				if rng.IntN(3) == 0 {
					exp := now.Add(time.Hour)
					v.ExpiresAt = &exp
				}
				return tx.CreateVersion(&store.Version{Version: v, Ciphertext: []byte("ct"), WrappedDEK: []byte("dek")})
			case op == "delete":
				return tx.SetSecretDeleted(sec.ID, true)
			case op == "revive":
				return tx.SetSecretDeleted(sec.ID, false)
			case op == "disable":
				return tx.SetVersionDisabled(sec.ID, max(1, sec.LatestVersion-rng.IntN(2)))
			case op == "consume":
				_, err := tx.ConsumeAccess(sec.ID, max(1, sec.LatestVersion-rng.IntN(2)))
				return err
			case op == "rewrap":
				return tx.ReplaceCiphertext(sec.ID, sec.LatestVersion, []byte("ct2"), []byte("dek2"))
			case op == "bump": // latest_version ahead of the versions (a NextVersion whose insert is yet to come)
				_, err := tx.NextVersion(sec.ID)
				return err
			case op == "purge":
				for k := range ids {
					if strings.HasPrefix(k, vid+"/"+path) {
						delete(ids, k)
					}
				}
				return tx.PurgeSecrets(vid, path)
			case op == "dropversion": // no store method deletes one version; the trigger still covers it
				_, err := tx.(*txn).tx.ExecContext(t.Context(), "DELETE FROM versions WHERE secret_id = ? AND version = ?",
					sec.ID, max(1, sec.LatestVersion-rng.IntN(2)))
				return err
			case op == "deletevault":
				for k := range ids {
					if strings.HasPrefix(k, vid+"/") {
						delete(ids, k)
					}
				}
				if err := tx.DeleteVault(vid); err != nil {
					return err
				}
				return tx.CreateVault(&store.Vault{Vault: clavis.Vault{ID: vid, OrgID: org.ID, Name: vid, CreatedAt: now}})
			}
			return nil
		})
		if err != nil && !clavis.IsKind(err, clavis.KindNotFound) {
			t.Fatalf("step %d %s %s/%s: %v", step, op, vid, path, err)
		}
		ops[op]++
		want, got := dumpRows(t, s, headsJoin), dumpRows(t, s, headsTable)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d after %s %s/%s: secret_heads =\n%s\nwant\n%s", step, op, vid, path,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if fast, join := latestVersion(t, s, vid, path, false), latestVersion(t, s, vid, path, true); fast != join {
			t.Fatalf("step %d after %s %s/%s: GetSecretVersion of the latest =\n%s\nthe join gives\n%s", step, op, vid, path, fast, join)
		}
	}
	for _, op := range []string{"write", "delete", "revive", "disable", "consume", "rewrap", "bump", "purge", "deletevault", "dropversion"} {
		if ops[op] == 0 {
			t.Errorf("the sequence never ran %s", op)
		}
	}
	if got := dumpRows(t, s, headsTable); len(got) < 3 {
		t.Errorf("only %d heads at the end; the sequence should leave more", len(got))
	}
}

// TestSecretHeadsMigrationBackfills: migration 0013 on a database that already holds secrets fills
// secret_heads with exactly the join: live secrets at their latest version, not the deleted ones nor
// one whose latest version is missing.
func TestSecretHeadsMigrationBackfills(t *testing.T) {
	s, path := open(t)
	now := clavis.Now()
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(&clavis.Org{ID: "org", Name: "acme", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateVault(&store.Vault{Vault: clavis.Vault{ID: "v", OrgID: "org", Name: "v", CreatedAt: now}}); err != nil {
			return err
		}
		for i, p := range []string{"a", "b", "c", "d"} {
			sec, err := tx.EnsureSecret(&clavis.Secret{ID: "s" + p, VaultID: "v", Path: p, CreatedAt: now})
			if err != nil {
				return err
			}
			for range 2 {
				n, err := tx.NextVersion(sec.ID)
				if err != nil {
					return err
				}
				if err := tx.CreateVersion(&store.Version{Version: clavis.Version{SecretID: sec.ID, Version: n, Type: "generic",
					Metadata: []byte(`{}`), CreatedBy: "user:u", CreatedAt: now}, Ciphertext: []byte("ct"), WrappedDEK: []byte("dek")}); err != nil {
					return err
				}
			}
			switch i {
			case 1:
				err = tx.SetSecretDeleted(sec.ID, true)
			case 2:
				_, err = tx.NextVersion(sec.ID) // latest version without a row
			}
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := dumpRows(t, s, headsJoin)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	backend(t).Exec(t, path, undo0013+"; DELETE FROM schema_migrations WHERE version IN (13, 14)")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := dumpRows(t, s, headsTable)
	if !slices.Equal(got, want) || len(got) != 2 {
		t.Fatalf("secret_heads after migrating = \n%s\nwant the 2 rows\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// latestVersion renders what GetSecretVersion returns for the latest version of vaultID/path: from the
// secret's head, or (join) as it did before migration 0014, from the join of secrets and versions.
func latestVersion(t *testing.T, s *Store, vaultID, path string, join bool) string {
	t.Helper()
	var out string
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		sec, v, err := tx.GetSecretVersion(vaultID, path, 0)
		if join {
			var js clavis.Secret
			var jv store.Version
			err = dbErr("join", tx.(*txn).queryRow(qGetSecretVersion, vaultID, path, 0).Scan(
				&js.ID, &js.VaultID, &js.Path, &js.Deleted, &js.LatestVersion, timeCol{&js.CreatedAt},
				&jv.SecretID, &jv.Version.Version, &jv.Type, rawCol{&jv.Metadata}, optTimeCol{&jv.ExpiresAt},
				&jv.MaxAccessCount, &jv.AccessCount, &jv.Disabled, &jv.CreatedBy, timeCol{&jv.CreatedAt},
				&jv.Ciphertext, &jv.WrappedDEK))
			sec, v = &js, &jv
			if clavis.IsKind(err, clavis.KindNotFound) { // as GetSecretVersion did before 0014
				sec, err = tx.GetSecret(vaultID, path)
				v = nil
			}
		}
		switch {
		case clavis.IsKind(err, clavis.KindNotFound):
			out = "not found"
		case err != nil:
			return err
		case sec.Deleted:
			out = "deleted"
		case v == nil:
			out = fmt.Sprintf("%+v, no version", *sec)
		default:
			out = fmt.Sprintf("%+v %+v", *sec, *v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
