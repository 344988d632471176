// Package tutorials holds byol-lab's classroom lessons: Markdown files, one
// per lesson, and the lab presets they open. The package has no code of its
// own; its tests keep the lessons honest:
//
//   - every claim a lesson makes is trained headless at a reduced budget
//     through the same code paths as `byol-lab train` (byol.Trainer and
//     byol.Evaluator) and checked (claims_test.go);
//   - every byol-lab command printed in a lesson is run with fewer steps, and
//     every link is followed: files must exist and lab URLs must parse as the
//     frontend parses them (commands_test.go);
//   - the PyTorch snippet of lesson 7 loads a real checkpoint and must
//     reproduce the Go encoder's output (export_test.go).
//
// Run them with `go test ./tutorials/` (a few minutes on 2 cores); `-short`
// skips the training.
package tutorials
