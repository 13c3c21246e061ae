package keyring

// CachedVaultKeys reports how many unwrapped vault keys k holds, for tests of the cache bound.
func CachedVaultKeys(k *Keyring) int { return k.cache.count() }
