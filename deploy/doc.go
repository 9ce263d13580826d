// Package deploy holds the deployment files of CountyDataSync and their
// tests: the container image (Dockerfile), the docker compose stack
// (../docker-compose.yml and compose/), and the Kubernetes manifests (k8s/,
// kustomize). There is no Go code to import here; the tests render and
// decode every file with the libraries Docker, Compose and Kubernetes use,
// and check every command line against countysync's own parser and every
// config against config.Parse. See README.md.
//
// This directory is a Go module of its own (go.mod here), so the libraries
// the tests need (kustomize, the Kubernetes API, compose-go, buildkit) stay
// out of the product's module graph. Its go.mod replaces the main module
// with the parent directory: the tests always check this checkout. Run them
// with `cd deploy && go test ./...`, or `make test` from the root.
package deploy
