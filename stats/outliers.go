package stats

// Fences returns Tukey's outlier fences of an ascending, finite, non-empty
// sample: [Q1 − k·IQR, Q3 + k·IQR] with IQR = Q3 − Q1 and quartiles of R's
// type 7.
//
// With reduceSensitivity, as Kayenta's IQRDetector, the fences are widened to
// at least the 1st and 99th percentiles, so that a sample with a tiny IQR
// (say, mostly zeros) does not lose its informative tail:
// lower = min(P01, Q1 − k·IQR), upper = max(P99, Q3 + k·IQR).
//
// Reference: Tukey (1977), Exploratory Data Analysis, §2C.
func Fences(sorted []float64, k float64, reduceSensitivity bool) (lower, upper float64) {
	q1 := QuantileSorted(0.25, sorted)
	q3 := QuantileSorted(0.75, sorted)
	iqr := q3 - q1
	lower, upper = q1-k*iqr, q3+k*iqr
	if reduceSensitivity {
		lower = min(lower, QuantileSorted(0.01, sorted))
		upper = max(upper, QuantileSorted(0.99, sorted))
	}
	return lower, upper
}

// RemoveOutliers returns the values of x inside Fences(sorted x, k,
// reduceSensitivity), in their original order. An empty x is returned as is.
func RemoveOutliers(x []float64, k float64, reduceSensitivity bool) []float64 {
	if len(x) == 0 {
		return x
	}
	lower, upper := Fences(sorted(x), k, reduceSensitivity)
	kept := make([]float64, 0, len(x))
	for _, v := range x {
		if v >= lower && v <= upper {
			kept = append(kept, v)
		}
	}
	return kept
}
