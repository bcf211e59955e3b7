package procstat

import (
	"os"
	"testing"
	"time"
)

// TestSelf reads this test process: it holds memory and has used CPU, and
// using more CPU never lowers its CPU time.
func TestSelf(t *testing.T) {
	rss, err := ResidentMemory(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("ResidentMemory = %d, %v; want at least 1 MiB", rss, err)
	}
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0.0
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	after, err := CPUTime(os.Getpid())
	if err != nil || after < before || x == 0 {
		t.Fatalf("CPUTime went from %v to %v (%v)", before, after, err)
	}
	if _, err := ResidentMemory(-1); err == nil {
		t.Error("ResidentMemory of no process: no error")
	}
}
