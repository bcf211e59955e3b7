package verdict
import "testing"
func BenchmarkZZKayentaBare(b *testing.B) {
	cfg, pairs := benchInput(b)
	bare := make([]MetricSetPair, len(pairs))
	for i, p := range pairs {
		bare[i] = MetricSetPair{Name: p.Name, Values: PairValues{Control: p.Values.Control, Experiment: p.Values.Experiment}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(cfg, bare, Options{Judge: JudgeKayenta}); err != nil { b.Fatal(err) }
	}
}
