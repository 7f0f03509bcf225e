// Package docker recognizes commands that run Docker containers and asks the docker CLI
// about them.
//
// A bgrun record whose command is `docker run ...` (or `docker compose up`) is alive when
// its container runs, not when the docker client process does: a detached client exits
// at once, and a foreground client can die while its container keeps running. This
// package finds the container a record means (by --name, by the bgrun.name label that
// Label adds, or by the compose project) and talks to Docker only through the docker
// CLI, so that bgrun needs no Docker SDK and works with whatever daemon the CLI reaches.
package docker
