// Package deploy holds the deployment files of CountyDataSync and their
// tests: the container image (Dockerfile), the docker compose stack
// (../docker-compose.yml and compose/), and the Kubernetes manifests (k8s/,
// kustomize). There is no Go code to import here; the tests render and
// decode every file with the libraries Docker, Compose and Kubernetes use,
// and check every command line against countysync's own parser and every
// config against config.Parse. See README.md.
package deploy
