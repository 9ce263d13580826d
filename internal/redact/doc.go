// Package redact masks secrets in text meant for logs and error messages:
// the passwords of connection URLs and PostgreSQL key=value connection
// strings (URL), and known secrets wherever a driver or server quotes them
// back (Text). Every secret becomes Mask.
package redact
