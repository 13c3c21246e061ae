package pkcs11

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	mod = "module-path=/usr/lib/softhsm/libsofthsm2.so"
	pin = "pin-source=file:/etc/clavis/pin"
)

func TestParseURI(t *testing.T) {
	base := URI{Token: "clavis", Object: "root", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINFile: "/etc/clavis/pin"}
	with := func(f func(*URI)) *URI {
		u := base
		f(&u)
		return &u
	}
	tests := []struct {
		name string
		uri  string
		want *URI   // nil: an error is expected
		err  string // substring of the error
	}{
		{"minimal", "pkcs11:token=clavis;object=root?" + mod + "&" + pin, &base, ""},
		{"scheme is case-insensitive", "PKCS11:token=clavis;object=root?" + mod + "&" + pin, &base, ""},
		{"attribute order is free", "pkcs11:object=root;token=clavis?" + pin + "&" + mod, &base, ""},
		{"empty segments are ignored", "pkcs11:token=clavis;;object=root;?" + mod + "&&" + pin, &base, ""},
		{"percent-encoded labels", "pkcs11:token=My%20Token;object=a%3Bb%2Fc%25d%3F%26%3D%23?" + mod + "&" + pin,
			with(func(u *URI) { u.Token, u.Object = "My Token", "a;b/c%d?&=#" }), ""},
		{"utf-8 label", "pkcs11:token=clavis;object=cl%C3%A9?" + mod + "&" + pin, with(func(u *URI) { u.Object = "clé" }), ""},
		{"plus is literal", "pkcs11:token=a+b;object=root?" + mod + "&" + pin, with(func(u *URI) { u.Token = "a+b" }), ""},
		{"equals sign in a value", "pkcs11:token=clavis;object=a=b?" + mod + "&" + pin, with(func(u *URI) { u.Object = "a=b" }), ""},
		{"id bytes", "pkcs11:token=clavis;object=root;id=%01%FFa?" + mod + "&" + pin, with(func(u *URI) { u.ID = []byte{1, 0xff, 'a'} }), ""},
		{"type secret-key", "pkcs11:token=clavis;object=root;type=secret-key?" + mod + "&" + pin, &base, ""},
		{"serial only", "pkcs11:serial=abc123;object=root?" + mod + "&" + pin, with(func(u *URI) { u.Token, u.Serial = "", "abc123" }), ""},
		{"slot-id in path", "pkcs11:slot-id=7;object=root?" + mod + "&" + pin, with(func(u *URI) { u.Token, u.SlotID, u.HasSlotID = "", 7, true }), ""},
		{"slot-id in query", "pkcs11:token=clavis;object=root?slot-id=0&" + mod + "&" + pin, with(func(u *URI) { u.HasSlotID = true }), ""},
		{"pin-source file URL", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=file:///etc/clavis/pin", &base, ""},
		{"pin-source localhost URL", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=file://localhost/etc/clavis/pin", &base, ""},
		{"pin-source percent-encoded", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=file:/etc/a%26b", with(func(u *URI) { u.PINFile = "/etc/a&b" }), ""},

		{"other scheme", "file:/etc/clavis/root.key", nil, "want pkcs11:"},
		{"empty", "", nil, "want pkcs11:"},
		{"missing module-path", "pkcs11:token=clavis;object=root?" + pin, nil, "missing module-path"},
		{"relative module-path", "pkcs11:token=clavis;object=root?module-path=libsofthsm2.so&" + pin, nil, "absolute path"},
		{"missing pin-source", "pkcs11:token=clavis;object=root?" + mod, nil, "missing pin-source"},
		{"pin-source not a file", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=|/bin/getpin", nil, "pin-source must be file:"},
		{"pin-source remote host", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=file://host/pin", nil, "local file"},
		{"pin-source without path", "pkcs11:token=clavis;object=root?" + mod + "&pin-source=file:", nil, "no path"},
		{"pin-value rejected", "pkcs11:token=clavis;object=root?" + mod + "&" + pin + "&pin-value=S3CR3T-PIN", nil, "pin-value"},
		{"pin-value rejected in path", "pkcs11:token=clavis;object=root;pin-value=S3CR3T-PIN?" + mod + "&" + pin, nil, "pin-value"},
		{"missing object", "pkcs11:token=clavis?" + mod + "&" + pin, nil, "missing object"},
		{"missing token selector", "pkcs11:object=root?" + mod + "&" + pin, nil, "missing token"},
		{"unknown path attribute", "pkcs11:token=clavis;object=root;colour=S3CR3T-PIN?" + mod + "&" + pin, nil, `unknown path attribute "colour"`},
		{"misspelt attribute", "pkcs11:token=clavis;objet=root?" + mod + "&" + pin, nil, `unknown path attribute "objet"`},
		{"unknown query attribute", "pkcs11:token=clavis;object=root?" + mod + "&" + pin + "&x-max-sessions=4", nil, `unknown query attribute "x-max-sessions"`},
		{"query attribute in path", "pkcs11:token=clavis;object=root;module-path=/x.so?" + pin, nil, `unknown path attribute "module-path"`},
		{"path attribute in query", "pkcs11:token=clavis?object=root&" + mod + "&" + pin, nil, `unknown query attribute "object"`},
		{"unsupported RFC attribute", "pkcs11:token=clavis;manufacturer=SoftHSM;object=root?" + mod + "&" + pin, nil, `"manufacturer" is not accepted`},
		{"module-name", "pkcs11:token=clavis;object=root?module-name=softhsm2&" + pin, nil, `"module-name" is not accepted`},
		{"duplicate attribute", "pkcs11:token=clavis;object=root;object=other?" + mod + "&" + pin, nil, "more than once"},
		{"slot-id twice", "pkcs11:slot-id=1;object=root?slot-id=1&" + mod + "&" + pin, nil, "more than once"},
		{"bad slot-id", "pkcs11:slot-id=one;object=root?" + mod + "&" + pin, nil, "decimal"},
		{"bad percent-encoding", "pkcs11:token=clavis;object=ro%zzt?" + mod + "&" + pin, nil, "percent-encoding"},
		{"empty value", "pkcs11:token=;object=root?" + mod + "&" + pin, nil, `"token" is empty`},
		{"attribute without value", "pkcs11:token=clavis;object?" + mod + "&" + pin, nil, "has no '='"},
		{"other type", "pkcs11:token=clavis;object=root;type=private?" + mod + "&" + pin, nil, "type must be secret-key"},
		{"fragment", "pkcs11:token=clavis;object=root#x?" + mod + "&" + pin, nil, "'#'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParseURI = %+v, want an error containing %q", got, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %q, want it to contain %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "S3CR3T") {
					t.Errorf("error %q repeats a value from the URI", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseURI = %+v, want %+v", got, tt.want)
			}
			again, err := ParseURI(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("ParseURI(%q) = %+v, %v; want the same URI back", got.String(), again, err)
			}
		})
	}
}

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name, body string
		mode       os.FileMode
		want, err  string
	}{
		{"plain", "1234", 0o600, "1234", ""},
		{"newline", "1234\n", 0o400, "1234", ""},
		{"crlf", "1234\r\n", 0o600, "1234", ""},
		{"only one newline dropped", "12 34\n\n", 0o600, "12 34\n", ""},
		{"group readable", "1234", 0o640, "", "lets group or others access it"},
		{"world readable", "1234", 0o604, "", "lets group or others access it"},
		{"empty", "\n", 0o600, "", "empty"},
		{"too large", strings.Repeat("1", maxPINFileSize+1), 0o600, "", "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readPIN(write(tt.name, tt.body, tt.mode))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("readPIN = %q, %v; want an error containing %q", got, err, tt.err)
				}
				if strings.Contains(err.Error(), "1234") {
					t.Errorf("error %q contains the PIN", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("readPIN = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := readPIN(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("readPIN(directory) = %v, want a refusal", err)
	}
	if _, err := readPIN(filepath.Join(dir, "missing")); err == nil {
		t.Error("readPIN(missing) succeeded")
	}
}
