package engine

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// The store's rows embed what a caller sees; these return that part, so that no hash, wrapped key or
// credential counter leaves the engine. A nil row gives nil.

func userOf(u *store.User) *clavis.User {
	if u == nil {
		return nil
	}
	return &u.User
}

func apiKeyOf(k *store.APIKey) *clavis.APIKey {
	if k == nil {
		return nil
	}
	return &k.APIKey
}

func agentOf(a *store.Agent) *clavis.Agent {
	if a == nil {
		return nil
	}
	return &a.Agent
}

func vaultOf(v *store.Vault) *clavis.Vault {
	if v == nil {
		return nil
	}
	return &v.Vault
}

// allOf applies of to each row; nil stays nil, empty stays empty.
func allOf[R, T any](rows []*R, of func(*R) *T) []*T {
	if rows == nil {
		return nil
	}
	out := make([]*T, len(rows))
	for i, r := range rows {
		out[i] = of(r)
	}
	return out
}
