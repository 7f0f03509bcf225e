//go:build !race

package main

// raceDetector is true when the tests are built with the race detector.
const raceDetector = false
