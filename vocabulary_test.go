package clavis_test

import (
	"reflect"
	"strings"
	"testing"

	"clavis.dev/clavis"
)

// TestVocabularyHoldsNoStorageFields checks that the types a caller of the services sees carry no
// server-side material: key and password hashes, wrapped keys, ciphertext and credential counters live in
// the store's rows (internal/store), so that no result of the services can hold them.
func TestVocabularyHoldsNoStorageFields(t *testing.T) {
	storage := []string{"Hash", "Wrapped", "Ciphertext", "DEK", "TokenGen", "FailedLogins", "LockedUntil",
		"RecoveryCode", "Pending", "LastStep"}
	var check func(path string, typ reflect.Type, seen map[reflect.Type]bool)
	check = func(path string, typ reflect.Type, seen map[reflect.Type]bool) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != "clavis.dev/clavis" || seen[typ] {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			for _, s := range storage {
				if strings.Contains(f.Name, s) {
					t.Errorf("%s.%s: the vocabulary carries storage material (%s)", path, f.Name, s)
				}
			}
			check(path+"."+f.Name, f.Type, seen)
		}
	}
	for _, v := range []any{clavis.User{}, clavis.APIKey{}, clavis.Agent{}, clavis.AgentKey{}, clavis.Vault{},
		clavis.Secret{}, clavis.Version{}, clavis.SecretMeta{}, clavis.SecretValue{}, clavis.Caller{}} {
		typ := reflect.TypeOf(v)
		check(typ.Name(), typ, map[reflect.Type]bool{})
	}
}
