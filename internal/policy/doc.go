// Package policy is the pure part of Clavis authorization (spec §2.8, §3): secret path and glob syntax,
// glob matching, permission parsing and implication, policy conditions, and Evaluate, which turns a
// principal's policies on a vault into a Decision{Allowed, Reason, PolicyID}.
//
// Everything here is deterministic and free of I/O, with one exception: ParseConditions loads IANA time
// zones with time.LoadLocation, which may read the host's zone database. The package embeds its own copy
// (time/tzdata), so zones resolve on hosts without one.
//
// Errors: every validation failure is a *clavis.Error of kind clavis.KindInvalid whose Fields name the
// request field ("path", "version", "secret_path_pattern", "scopes", "permissions", "conditions"). Messages
// describe the rule that was broken; they may quote a short fragment of the offending input (a key name, a
// permission), never more than 64 bytes of it.
//
// Concurrency: there is no package-level mutable state; every function is safe for concurrent use, and a
// *Conditions is immutable once parsed.
package policy

import (
	_ "time/tzdata" // IANA zones on hosts without a zone database (§3.6)
)
