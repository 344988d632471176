package device

import (
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	b, err := Open("cpu", nil)
	if err != nil || b.Name() != "cpu" {
		t.Fatalf("Open(cpu) = %v, %v", b, err)
	}
	if _, err := Open("tpu", nil); err == nil || !strings.Contains(err.Error(), "want cpu or cuda") {
		t.Fatalf("Open(tpu): %v", err)
	}
	if !HasCUDA() {
		_, err := Open("cuda", nil)
		if err == nil || !strings.Contains(err.Error(), "-tags cuda") {
			t.Fatalf("Open(cuda) without CUDA support: %v", err)
		}
	}
}
