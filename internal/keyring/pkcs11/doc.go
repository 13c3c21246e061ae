// Package pkcs11 is a root-key provider that keeps the root key inside a PKCS#11 token (an HSM, a cloud
// HSM client library, or SoftHSM2 for development). It implements keyring.RootKey. The root key is an
// AES-256 secret key object that is sensitive and non-extractable: its value never leaves the token, and
// every Wrap and Unwrap is an AES-256-GCM operation performed by the token.
//
// # URI
//
// The provider is named by a PKCS#11 URI in the style of RFC 7512:
//
//	pkcs11:token=clavis;object=clavis-root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/clavis/hsm.pin
//
// Path attributes (separated by ';'):
//
//   - object (required): the CKA_LABEL of the key.
//   - token: the token label. At least one of token, serial and slot-id selects the token, and exactly one
//     token must match all that are given.
//   - serial: the token serial number.
//   - slot-id: the decimal slot ID (also accepted as a query attribute).
//   - id: the CKA_ID of the key, percent-encoded bytes (for example id=%01%02). When absent, any key with the
//     label matches and a generated key gets a random 16-byte CKA_ID.
//   - type: if present, must be secret-key.
//
// Query attributes (separated by '&'):
//
//   - module-path (required): absolute path of the PKCS#11 module (shared library) to load.
//   - pin-source (required): file:<path> of a file holding the user PIN (one trailing newline is ignored).
//     The file must be a regular file that group and others cannot access (mode 0600 or 0400), like the
//     file root key. The PIN is never part of the URI or a flag: pin-value is refused. The PIN is read at
//     Open and again only when the token has dropped the login and the provider logs in again, so the
//     file must stay in place while the server runs; the provider does not retain the PIN.
//
// Values are percent-decoded (%20 for a space, %3B for ';', %26 for '&', %25 for '%'; '+' is a literal
// plus). Attribute names are case-sensitive; the scheme is not. An attribute may appear only once.
// Unknown attributes are rejected, including RFC 7512 attributes this provider does not implement
// (manufacturer, model, library-*, slot-*, module-name, pin-value, vendor x-*): a misspelt attribute in a
// root-key setting must stop the server, not be silently ignored. Errors name the offending attribute but
// never echo its value or the URI, so a PIN pasted into the URI by mistake does not reach the logs.
//
// # Key
//
// Open finds the secret key object (class CKO_SECRET_KEY, token object, the label and, when given, the
// CKA_ID) and checks that it is an AES-256 key that allows encrypt and decrypt and is sensitive (an
// extractable key is accepted, so that HSMs that back up keys by wrapping them keep working). With
// create set and no such object, it generates one inside the token with CKM_AES_KEY_GEN: CKA_TOKEN,
// CKA_PRIVATE, CKA_SENSITIVE, CKA_ENCRYPT and CKA_DECRYPT true; CKA_EXTRACTABLE, CKA_WRAP, CKA_UNWRAP,
// CKA_SIGN, CKA_VERIFY and CKA_DERIVE false.
//
// PKCS#11 has no atomic create-if-absent, and several replicas may start at once, so creation is a
// protocol: a creator generates the key under a provisional label (the label + "~clavis-pending"), then
// lists both labels; if its object is the only one it relabels it to the final label, otherwise it
// destroys it (never used) and retries after a random pause. Only an object under the final label is
// ever used, and a creator gives it that label only after seeing no other object, so at most one exists
// and a final object is never destroyed. Open without create waits a moment for a provisional object to
// be finished. A creator that crashed between generating and relabelling leaves a provisional object;
// Open then fails after a few rounds and says to delete it.
//
// ID is "p11-" and 16 hex digits of SHA-256 over the key's label and CKA_ID. It does not include the
// token serial, so the key keeps its ID when it is replicated or restored to another token of an HSM
// cluster (the ID is stored with every wrapped vault key; a changed ID would make them unreadable).
//
// # Format
//
// Wrap output is 0x01 | IV(12) | ciphertext | tag(16). The IV is 96 random bits from crypto/rand passed
// in CK_GCM_PARAMS; if the token reports that it used another IV (some HSMs generate their own), that IV
// is stored. The GCM additional data is the format byte followed by the caller's aad.
//
// # Concurrency
//
// PKCS#11 sessions are not safe for concurrent use, so a Provider keeps a pool of sessions: up to 8
// (fewer if the token allows fewer) operations run in parallel, each on its own session; further callers
// wait for a free session or for their context to end. Sessions are opened as needed and kept. A session
// the token has closed or logged out is discarded with every idle session and the operation retried on
// a fresh one (logging in again if the token dropped the login, and looking the key up again if its
// handle changed), so an HSM restart heals without restarting the server. A token that stays
// unreachable, or a login that fails, is a *clavis.Error of kind clavis.KindUnavailable.
//
// A module is loaded and C_Initialize'd once per process (keyed by its resolved path) and shared by every
// Provider using it; the last Close calls C_Finalize and unloads it. PKCS#11 login state belongs to the
// process and token, not the session: two Providers on one token share it, and a second Open on a token
// the process is already logged in to succeeds without the token checking its PIN again.
//
// # cgo
//
// The implementation calls the module through cgo (github.com/miekg/pkcs11, dlopen). A build without
// cgo (CGO_ENABLED=0) still compiles: URI parsing works, and Open returns an error saying that PKCS#11
// support needs a cgo build.
package pkcs11
