package policy

import (
	"slices"

	"clavis.dev/clavis"
)

// ParsePermissions checks a policy's permissions (§3.2): a non-empty list drawn from read, write, delete,
// rotate, share and use. Duplicates are removed, keeping the order of first occurrence. Anything else is
// KindInvalid, field "permissions".
func ParsePermissions(in []string) ([]clavis.Permission, error) {
	if len(in) == 0 {
		return nil, clavis.Invalid("permissions", "permissions must not be empty")
	}
	out := make([]clavis.Permission, 0, len(in))
	for _, s := range in {
		p := clavis.Permission(s)
		switch p {
		case clavis.PermRead, clavis.PermWrite, clavis.PermDelete, clavis.PermRotate, clavis.PermShare, clavis.PermUse:
		default:
			return nil, clavis.Invalid("permissions", "unknown permission "+quote(s)+
				"; use read, write, delete, rotate, share or use")
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Satisfies reports whether a policy listing perms covers need (§3.2): need is listed, or need is delete or
// rotate and write is listed, or need is use and read is listed. The same implication applies to allow
// and deny policies (a deny of read also denies use).
func Satisfies(perms []clavis.Permission, need clavis.Permission) bool {
	implied := clavis.PermWrite
	if need == clavis.PermUse {
		implied = clavis.PermRead
	}
	byImplication := need == clavis.PermDelete || need == clavis.PermRotate || need == clavis.PermUse
	for _, p := range perms {
		if p == need || byImplication && p == implied {
			return true
		}
	}
	return false
}
