// Package cputime reads CPU time for benchmarks: on a shared machine it
// moves far less than wall time when other jobs take the cores.
package cputime
