package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Env names the environment variables that override config values.
const (
	EnvSourceURL  = "COUNTYSYNC_SOURCE_URL"
	EnvStorageURL = "COUNTYSYNC_STORAGE_URL"
	EnvRedisURL   = "COUNTYSYNC_REDIS_URL"
)

// Load reads, expands, decodes and validates the config file at path.
func Load(path string, opts ...LoadOption) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv, opts...)
}

// LoadOption changes what Load and Parse require.
type LoadOption func(*loadOptions)

type loadOptions struct {
	unused map[string]bool
}

// Unused names top-level sections ("source", "storage") that the
// command loading the config never opens: a ${VAR} without a value in
// them is no error (it expands to ""), and a section with such a variable
// is not validated; its values are then unusable. Commands that read
// only the job records (dashboard, status) use it, so they need no
// database password; run, worker and the others stay strict.
func Unused(sections ...string) LoadOption {
	return func(o *loadOptions) {
		for _, s := range sections {
			o.unused[s] = true
		}
	}
}

// Parse is Load for config text already in memory. lookup resolves
// environment variables (os.LookupEnv when nil).
func Parse(path string, data []byte, lookup func(string) (string, bool), opts ...LoadOption) (*Config, error) {
	o := loadOptions{unused: map[string]bool{}}
	for _, opt := range opts {
		opt(&o)
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	name := path
	if name == "" {
		name = "config"
	}
	text, missing, err := expandEnvLenient(name, string(data), lookup)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the config file is empty", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	dec.KnownFields(true)
	cfg := &Config{}
	if err := dec.Decode(cfg); err != nil {
		return nil, yamlError(name, err)
	}
	cfg.Path = path
	pos := positions(&root)
	for i, d := range cfg.Datasets {
		if d != nil {
			d.Line = pos.line(fmt.Sprintf("datasets[%d]", i))
		}
	}
	overridden := map[int]bool{} // lines whose value an env override replaces
	for env, o := range map[string]struct {
		dst  *string
		path string
	}{
		EnvSourceURL:  {&cfg.Source.URL, "source.url"},
		EnvStorageURL: {&cfg.Storage.URL, "storage.url"},
		EnvRedisURL:   {&cfg.State.URL, "state.url"},
	} {
		if v, ok := lookup(env); ok && v != "" {
			*o.dst = v
			if l, ok := pos[o.path]; ok {
				overridden[l] = true
			}
		}
	}
	skip := map[string]bool{} // unused sections with a variable left unset
	for _, m := range missing {
		if overridden[m.line] {
			continue
		}
		if sec := pos.section(m.line); o.unused[sec] {
			skip[sec] = true
			continue
		}
		return nil, m.err
	}
	v := &validator{file: name, pos: pos, dir: configDir(path), skip: skip}
	v.config(cfg)
	if err := errors.Join(v.errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

func configDir(path string) string {
	if path == "" {
		return "."
	}
	return filepath.Dir(path)
}

var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)
	reLine         = regexp.MustCompile(`^line (\d+): (.*)$`)
	reYAMLLine     = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	sectionNames   = map[string]string{
		"Config": "the top level", "Source": "source", "Storage": "storage", "State": "state",
		"Dataset": "a dataset", "Incremental": "incremental", "Geometry": "geometry",
	}
)

// yamlError rewrites yaml.v3 errors as "file:line: message" lines.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var lines []string
		for _, msg := range te.Errors {
			if m := reUnknownField.FindStringSubmatch(msg); m != nil {
				lines = append(lines, fmt.Sprintf("%s:%s: unknown key %q in %s", file, m[1], m[2], sectionNames[m[3]]))
			} else if m := reLine.FindStringSubmatch(msg); m != nil {
				lines = append(lines, fmt.Sprintf("%s:%s: %s", file, m[1], typeMessage(m[2])))
			} else {
				lines = append(lines, file+": "+msg)
			}
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	msg := err.Error()
	if m := reLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", file, m[1], m[2])
	}
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: invalid YAML: %s", file, m[1], m[2])
	}
	return fmt.Errorf("%s: invalid YAML: %s", file, strings.TrimPrefix(msg, "yaml: "))
}

// UnmarshalYAML parses durations such as "5m" or "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 5m", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q (use forms like 90s, 5m, 1h30m)", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

var reUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

// typeMessage rewrites yaml.v3's "cannot unmarshal !!str `id` into
// []string" as words a config author knows.
func typeMessage(msg string) string {
	m := reUnmarshal.FindStringSubmatch(msg)
	if m == nil {
		return strings.ReplaceAll(msg, "config.", "")
	}
	want := map[string]string{
		"[]string": "a list such as [a, b]", "string": "a text value", "int": "a whole number",
		"bool": "true or false", "map[string]string": "a mapping such as {column: expression}",
		"map[string]int": "a mapping such as {export: 3}",
	}[m[3]]
	if want == "" {
		want = strings.ReplaceAll(m[3], "config.", "")
	}
	got := map[string]string{"str": "the text", "int": "the number", "bool": "the boolean", "seq": "a list", "map": "a mapping", "float": "the number"}[m[1]]
	if got == "" {
		got = m[1]
	}
	return fmt.Sprintf("expected %s, found %s %q", want, got, m[2])
}
