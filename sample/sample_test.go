package sample

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := map[string]struct {
		in       string
		want     []float64
		wantErr  error
		wantText string
	}{
		"numbers and comments": {in: "# latency\n1.5\n\n  2e3 \n-4\n# end\n", want: []float64{1.5, 2000, -4}},
		"no trailing newline":  {in: "1\n2", want: []float64{1, 2}},
		"bad line":             {in: "1\n2\nabc\n", wantErr: ErrSyntax, wantText: "f.txt:3:"},
		"NaN":                  {in: "1\nNaN\n", wantErr: ErrSyntax, wantText: "f.txt:2:"},
		"Inf":                  {in: "+Inf\n", wantErr: ErrSyntax, wantText: "f.txt:1:"},
		"only comments":        {in: "# nothing\n\n", wantErr: ErrEmpty, wantText: "f.txt"},
		"empty":                {in: "", wantErr: ErrEmpty},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), "f.txt")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("error = %v, want %v naming %q", err, tc.wantErr, tc.wantText)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Read = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
