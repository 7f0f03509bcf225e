//go:build race

package main

// raceDetector is true when the tests (and so every bgrun they run, the same
// binary) are built with the race detector, which slows each process down.
const raceDetector = true
