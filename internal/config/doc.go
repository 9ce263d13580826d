// Package config loads and validates the YAML configuration of
// CountyDataSync (the README's "Config" section is the user's reference;
// see docs/ARCHITECTURE.md, Command line and configuration).
//
// Loading happens in four steps, each with errors that name the file and
// line: ${ENV} expansion of the raw text (${VAR}, ${VAR:-default}, $$ for a
// literal $), strict YAML decoding (unknown keys and wrong types are
// errors), environment overrides for secrets (COUNTYSYNC_SOURCE_URL,
// COUNTYSYNC_STORAGE_URL, COUNTYSYNC_REDIS_URL), then validation with
// defaults. Relative paths in sqlite:// and file:// URLs are resolved
// against the directory of the config file, so a config and its database
// can move together.
//
// Transformations are compiled here, once, so a bad expression is a config
// error rather than a failure in the middle of a run.
package config
