package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/internal/testenv"
	"github.com/canaryjudge/judge/report"
	"github.com/canaryjudge/judge/verdict"
)

// hostileName is a metric name that would run script if a page did not
// escape it.
const hostileName = `<img src=x onerror=alert(1)>`

// TestUIInBrowser drives Debian's chromium headless over the web UI of a
// live judge serve process: an analysis created through the API is listed, its page
// shows every metric's classification and three SVG charts per metric, the
// hostile metric name is shown as text, the console has no error, no
// request leaves the server's origin, and nothing opens a dialog.
// A backtest report opened from a file passes the same checks.
// Screenshots go to $JUDGE_SCREENSHOTS (a temporary folder otherwise).
func TestUIInBrowser(t *testing.T) {
	testenv.NeedsExternal(t, "headless Chromium")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run scripts/ensure-chromium.sh (make test does)")
	}
	r := newReplica(t, t.TempDir(), "--data-dir", t.TempDir())
	base := "http://" + r.addr
	id := createAnalysis(t, base, uiAnalysisBody(hostileName, 8))
	waitSucceeded(t, base, id)
	// Two looks of a sequence, for its page.
	var lookIDs []string
	for _, shift := range []float64{0, 8} {
		body := strings.Replace(uiAnalysisBody("latency", shift), `{"spec":{`, `{"spec":{"sequence":"ci:browser/<b>run</b>","looks":3,`, 1)
		lookIDs = append(lookIDs, createAnalysis(t, base, body))
		waitSucceeded(t, base, lookIDs[len(lookIDs)-1])
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Headless, chromedp.WindowSize(1280, 1600))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var requests, problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				problems = append(problems, fmt.Sprintf("console %s", e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *page.EventJavascriptDialogOpening:
			problems = append(problems, "dialog: "+e.Message)
			go func() { _, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) }()
		}
	}); err != nil {
		t.Fatal(err)
	}

	shots := os.Getenv("JUDGE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	var list, reportText string
	var sections, charts, badges int
	var listShot, reportShot []byte
	step := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	step("network.enable", err)
	_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	step("runtime.enable", err)
	step("open the list", chromedp.Do(ctx, chromedp.Navigate(base+"/ui/"), chromedp.Query(chromedp.CSS("table"), chromedp.NodeVisible)))
	list, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	step("read the list", err)
	listShot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot the list", err)
	step("open the analysis", chromedp.Do(ctx, chromedp.Navigate(base+"/ui/analyses/"+id),
		chromedp.Query(chromedp.CSS("section.metric"), chromedp.NodeVisible)))
	reportText, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	step("read the report", err)
	sections, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("section.metric").length`))
	step("count sections", err)
	charts, err = chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("section.metric")].filter(s => s.querySelectorAll("svg").length === 3).length`))
	step("count charts", err)
	badges, err = chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("section.metric h3 .badge")].filter(b => /^(PASS|HIGH|LOW|NODATA|NODATA_FAIL|ERROR)$/.test(b.textContent)).length`))
	step("count classifications", err)
	reportShot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot the report", err)
	layout, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](chartLayoutCheck))
	step("measure the report's chart text", err)
	for _, p := range layout {
		t.Errorf("analysis report: %s", p)
	}

	// The sequence page, reached from a look's report.
	step("open a look", chromedp.Do(ctx, chromedp.Navigate(base+"/ui/analyses/"+lookIDs[1]),
		chromedp.Query(chromedp.CSS(`nav a[href^="/ui/sequences/"]`), chromedp.NodeVisible)))
	step("follow the sequence link", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav a[href^="/ui/sequences/"]`)),
		chromedp.Query(chromedp.CSS("table"), chromedp.NodeVisible)))
	seqText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	step("read the sequence", err)
	seqRows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table tr").length - 1`))
	step("count looks", err)
	seqCharts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure svg").length`))
	step("count interval charts", err)
	seqLinks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table a[href^="/ui/analyses/"]').length`))
	step("count look links", err)
	seqShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot the sequence", err)
	if seqRows != 2 || seqCharts != 2 || seqLinks != 2 || !strings.Contains(seqText, "ci:browser/<b>run</b>") || !strings.Contains(seqText, "2 of 3 planned looks") ||
		!strings.Contains(seqText, "continue") || !strings.Contains(seqText, "regression is established") {
		t.Errorf("sequence page: %d looks, %d interval charts, %d report links; want 2 each, the name as text, 2 of 3 planned looks, a look that continued and one that failed:\n%s", seqRows, seqCharts, seqLinks, seqText)
	}

	// The label buttons: a click labels the analysis, the page says so,
	// and the API returns it.
	step("open the analysis to label it", chromedp.Do(ctx, chromedp.Navigate(base+"/ui/analyses/"+id),
		chromedp.Query(chromedp.CSS(`nav form button`), chromedp.NodeVisible)))
	step("click regression", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav form:first-of-type button`))))
	// The form posts and the server redirects to the page again.
	var labelled string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(labelled, "labelled regression") && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		labelled, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("nav")))
	}
	var stored struct {
		Analysis struct {
			Label string `json:"label"`
		} `json:"analysis"`
	}
	resp, err := http.Get(base + "/v1/analyses/" + id)
	step("read the analysis back", err)
	step("decode it", json.NewDecoder(resp.Body).Decode(&stored))
	resp.Body.Close()
	if !strings.Contains(labelled, "labelled regression by") || stored.Analysis.Label != "regression" {
		t.Errorf("after clicking regression: the page says %q, the API %q", labelled, stored.Analysis.Label)
	}

	// The backtest report, opened as the file a user would open.
	cases, err := backtest.Synthetic(5, 24, backtest.SyntheticOptions{Noises: []string{backtest.NoiseIndependent}})
	step("synthetic cases", err)
	var page bytes.Buffer
	step("render the backtest report", report.Backtest(&page, "Backtest", backtest.Run(cases, backtest.SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil), cases))
	file := filepath.Join(t.TempDir(), "backtest.html")
	step("write the backtest report", os.WriteFile(file, page.Bytes(), 0o600))
	step("open the backtest report", chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.Query(chromedp.CSS("section.case"), chromedp.NodeVisible)))
	backtestCharts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg").length`))
	step("count backtest charts", err)
	if backtestCharts != 1+24 {
		t.Errorf("backtest report: %d charts, want the power curve and one per case", backtestCharts)
	}
	backtestShot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	step("screenshot the backtest report", err)
	layout, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](chartLayoutCheck))
	step("measure the backtest report's chart text", err)
	for _, p := range layout {
		t.Errorf("backtest report: %s", p)
	}
	if !strings.Contains(list, id) || !strings.Contains(list, "succeeded") {
		t.Errorf("the list does not show the analysis %s:\n%s", id, list)
	}
	if sections != 2 || charts != 2 || badges != 2 {
		t.Errorf("analysis page: %d metric sections, %d with three charts, %d classifications; want 2 each", sections, charts, badges)
	}
	if !strings.Contains(reportText, hostileName) {
		t.Error("the hostile metric name is not shown as text")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("browser problems: %v", problems)
	}
	if len(requests) < 2 {
		t.Errorf("%d requests seen: the listener missed the pages", len(requests))
	}
	origin, _ := url.Parse(base)
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || (u.Host != origin.Host && u.Scheme != "data" && u.Scheme != "file") {
			t.Errorf("a request left the server's origin: %s", r)
		}
	}
	for name, shot := range map[string][]byte{"ui-analyses.png": listShot, "ui-analysis-report.png": reportShot, "backtest-report.png": backtestShot,
		"ui-sequence.png": seqShot} {
		if err := os.WriteFile(filepath.Join(shots, name), shot, 0o644); err != nil { //nolint:gosec // screenshots are meant to be read
			t.Error(err)
		}
	}
}

// chartLayoutCheck measures every text element of every chart (SVG) on a
// page as the browser laid it out: each must lie inside its chart, no two
// may overlap, and no drawn line may pass through a legend's text (a legend
// entry is a text beside a short line sample, so its text box must be clear
// of every path). It returns the problems found.
const chartLayoutCheck = `(() => {
  const problems = [];
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll("svg").forEach((svg, si) => {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() !== "");
    const rects = texts.map(t => t.getBoundingClientRect());
    rects.forEach((r, i) => {
      const name = JSON.stringify(texts[i].textContent.trim());
      if (!inside(r, box)) problems.push("chart " + si + ": " + name + " overflows its chart");
      for (let j = i + 1; j < rects.length; j++) {
        if (overlap(r, rects[j])) problems.push("chart " + si + ": " + name + " overlaps " + JSON.stringify(texts[j].textContent.trim()));
      }
    });
    const legend = texts.map((t, i) => [t.textContent.trim(), rects[i]]).filter(([t]) => /^(baseline|canary|baseline history|ρ .*|threshold (min|max) .*)$/.test(t));
    svg.querySelectorAll("path").forEach(path => {
      const len = path.getTotalLength ? path.getTotalLength() : 0;
      if (!len) return;
      const m = path.getScreenCTM();
      for (let k = 0; k <= 200; k++) {
        const p = path.getPointAtLength(len * k / 200);
        const x = m.a * p.x + m.c * p.y + m.e, y = m.b * p.x + m.d * p.y + m.f;
        for (const [t, r] of legend) {
          if (x > r.left + 1 && x < r.right - 1 && y > r.top + 1 && y < r.bottom - 1) {
            problems.push("chart " + si + ": a line crosses the legend entry " + JSON.stringify(t));
            return;
          }
        }
      }
    });
  });
  return [...new Set(problems)];
})()`

// uiAnalysisBody is an asynchronous analysis of two metrics, the first
// (named name) shifted by shift.
func uiAnalysisBody(name string, shift float64) string {
	var control, canary, flat []string
	for i := range 40 {
		v := 100 + float64((i*37)%23)
		control = append(control, fmt.Sprint(v))
		canary = append(canary, fmt.Sprint(v+shift))
		flat = append(flat, fmt.Sprint(v))
	}
	quoted, _ := json.Marshal(name)
	series := func(s []string) string { return "[" + strings.Join(s, ",") + "]" }
	return fmt.Sprintf(`{"spec":{"canary_config":{"name":"svc","metrics":[{"name":%s,"groups":["perf"],"direction":"increase","critical":true},
		{"name":"errors","groups":["errors"],"direction":"increase"}]},"metrics":[
		{"name":%s,"control":%s,"experiment":%s},{"name":"errors","control":%s,"experiment":%s}]}}`,
		quoted, quoted, series(control), series(canary), series(flat), series(flat))
}

func createAnalysis(t *testing.T, base, body string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/analyses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != 200 || created.Analysis.ID == "" {
		t.Fatalf("create analysis: %d %v", resp.StatusCode, err)
	}
	return created.Analysis.ID
}

func waitSucceeded(t *testing.T, base, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/v1/analyses/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Analysis struct{ Status string } `json:"analysis"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch got.Analysis.Status {
		case "ANALYSIS_STATUS_SUCCEEDED":
			return
		case "ANALYSIS_STATUS_FAILED", "ANALYSIS_STATUS_CANCELED":
			t.Fatalf("analysis %s: %s", id, got.Analysis.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis %s still %s after 30s", id, got.Analysis.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
