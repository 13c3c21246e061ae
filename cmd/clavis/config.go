package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// settings resolves the flags of one subcommand, the same way for every subcommand: a flag on the command
// line beats the environment variable CLAVIS_<FLAG> (upper case, '-' → '_'), which beats the JSON config
// file named by --config or CLAVIS_CONFIG, which beats the default. Settings are declared with env (for
// strings and Func flags) or boolVar; a command's own one-off arguments (--out, --vault, --force, …) are
// declared on fs directly and come from the command line only.
type settings struct {
	fs   *flag.FlagSet
	file map[string]string // config file entries not yet claimed by a declared setting
	path string            // the config file, "" for none
	err  error             // the first bad value from the environment or the file
}

// newSettings makes the flag set of command and reads the config file named in args (or CLAVIS_CONFIG).
func newSettings(command string, args []string, stderr io.Writer) (*settings, error) {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &settings{fs: fs}
	var err error
	if s.file, s.path, err = loadConfigFile(args); err != nil {
		return nil, err
	}
	fs.String("config", "", "JSON config file: an object of flag names to values, e.g. {\"listen\": \"0.0.0.0:8080\"}; flags and CLAVIS_* variables override it")
	return s, nil
}

// envName is the environment variable of the setting name.
func envName(name string) string {
	return "CLAVIS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// env returns the value of setting name from the environment, else the config file, else def, and
// claims the name in the config file.
func (s *settings) env(name, def string) string {
	v, _ := s.lookup(name, def)
	return v
}

// lookup is env that also says where the value came from ("" for the default).
func (s *settings) lookup(name, def string) (value, source string) {
	value = def
	if v, ok := s.file[name]; ok {
		delete(s.file, name) // known setting
		value, source = v, "config file "+s.path+": "+name
	}
	if v, ok := os.LookupEnv(envName(name)); ok {
		value, source = v, envName(name)
	}
	return value, source
}

// fail records the first bad value of the environment or the file, reported by parse.
func (s *settings) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// funcVar declares a setting parsed by set, applying the environment's or the file's value first.
func (s *settings) funcVar(name, usage string, set func(string) error) {
	if v, source := s.lookup(name, ""); source != "" && v != "" {
		if err := set(v); err != nil {
			s.fail(fmt.Errorf("%s: %v", source, err))
		}
	}
	s.fs.Func(name, usage, set)
}

// boolVar declares a boolean setting. Every source accepts 1/0, true/false and yes/no (any case); on
// the command line --name alone means true.
func (s *settings) boolVar(p *bool, name string, def bool, usage string) {
	*p = def
	if v, source := s.lookup(name, ""); source != "" {
		b, err := parseBool(v)
		if err != nil {
			s.fail(fmt.Errorf("%s: %v", source, err))
		}
		*p = b
	}
	s.fs.Var((*boolFlag)(p), name, usage)
}

// parse parses the command line. It fails on a bad value from any source, on a positional argument,
// and on a config file entry that names no setting of this command, unless it is one of shared: the
// settings of clavis server, which one config file may give to every command.
func (s *settings) parse(args []string, shared map[string]bool) error {
	if err := s.fs.Parse(args); err != nil {
		return errUsage
	}
	if s.err != nil {
		return s.err
	}
	names := make([]string, 0, len(s.file))
	for name := range s.file {
		if !shared[name] {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return fmt.Errorf("config file %s: unknown setting %q", s.path, names[0])
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", s.fs.Arg(0))
	}
	return nil
}

// parseBool accepts 1/0, true/false and yes/no in any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true, nil
	case "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("want 1/0, true/false or yes/no, got %q", v)
}

// boolFlag is a flag.Value for boolVar.
type boolFlag bool

func (b *boolFlag) Set(v string) error {
	x, err := parseBool(v)
	if err != nil {
		return err
	}
	*b = boolFlag(x)
	return nil
}

func (b *boolFlag) String() string {
	if b != nil && *b {
		return "true"
	}
	return "false"
}

func (b *boolFlag) IsBoolFlag() bool { return true }

// serverSettingNames returns the names of the settings of clavis server: a config file written for the
// server may also be given to the operator commands, which ignore the settings they do not use.
func serverSettingNames() map[string]bool {
	s := &settings{fs: flag.NewFlagSet("", flag.ContinueOnError), file: map[string]string{}}
	s.fs.String("config", "", "")
	declareServerFlags(s)
	names := map[string]bool{}
	s.fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// storeSettings are the settings every command that opens the database shares with clavis server.
type storeSettings struct {
	dataDir, database, rootKey string
}

// declareStoreSettings declares --data-dir, --database and --root-key (the last only if withRootKey).
func declareStoreSettings(s *settings, withRootKey bool) *storeSettings {
	c := &storeSettings{}
	s.fs.StringVar(&c.dataDir, "data-dir", s.env("data-dir", "./clavis-data"), "data directory of the server")
	s.fs.StringVar(&c.database, "database", s.env("database", ""), "database: sqlite:<file> (default sqlite:<data-dir>/clavis.db) or postgres://…")
	if withRootKey {
		s.fs.StringVar(&c.rootKey, "root-key", s.env("root-key", ""), "root key provider (default file:<data-dir>/root.key)")
	}
	return c
}

// resolve fills in the defaults that depend on --data-dir.
func (c *storeSettings) resolve() {
	if c.database == "" {
		c.database = "sqlite:" + filepath.Join(c.dataDir, "clavis.db")
	}
	if c.rootKey == "" {
		c.rootKey = "file:" + filepath.Join(c.dataDir, "root.key")
	}
}

// loadConfigFile reads the --config file (or CLAVIS_CONFIG) named in args: a JSON object whose keys are
// flag names and whose values are strings, numbers or booleans. Secrets do not belong in it (key contents
// are files named by --root-key). It returns the entries and the file's path ("" for none).
func loadConfigFile(args []string) (map[string]string, string, error) {
	path := os.Getenv("CLAVIS_CONFIG")
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if v, ok := strings.CutPrefix(a, "-config="); ok {
			path = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path == "" {
		return map[string]string{}, "", nil
	}
	b, err := os.ReadFile(path) // #nosec G304 G703 -- the operator's --config
	if err != nil {
		return nil, "", fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, "", fmt.Errorf("config file %s: want a JSON object of flag names to values: %v", path, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool, float64:
			out[k] = fmt.Sprint(x)
		default:
			return nil, "", fmt.Errorf("config file %s: %q must be a string, number or boolean", path, k)
		}
	}
	return out, path, nil
}
