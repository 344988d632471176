//go:build race

package server

// raceEnabled: the race detector slows everything several times and
// unevenly, so tests only log timings then.
const raceEnabled = true
