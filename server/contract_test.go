package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Contract tests: the fields Spinnaker's clients read from judge's Kayenta
// routes, transcribed from their source with their nullability, and a
// strict check of judge's live answers against them.
//
// Tags: `json:"name"` is the field's JSON name; `contract:"…"` holds
//   - required: the client cannot do without it (a Kotlin non-null
//     property without a default, which jackson-module-kotlin refuses when
//     missing or null; a Java @NotNull; a field Deck dereferences);
//   - instant: an ISO-8601 instant (java.time.Instant);
//   - duration: an ISO-8601 duration (java.time.Duration, "PT1H");
//   - oneof=A|B|…: one of these values, case-insensitively (Orca reads a
//     status with ExecutionStatus.valueOf(status.toUpperCase())).
//
// Numbers: a Kotlin Int or Long takes any JSON number (Jackson's
// ACCEPT_FLOAT_AS_INT is on by default, and truncates). Unknown fields are
// allowed: Orca, Kayenta and Deck all ignore them.

// checkContract checks raw JSON against the contract type of v (a value
// of a struct, slice or map type built from the types below) and returns
// every violation, each naming its JSON path.
func checkContract(raw []byte, v any) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	checkValue(&errs, "$", doc, reflect.TypeOf(v), "")
	return errs
}

var isoDuration = regexp.MustCompile(`^-?PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$`)

func checkValue(errs *[]string, path string, v any, t reflect.Type, tag string) {
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if v == nil {
		if strings.Contains(tag, "required") {
			bad("null, but the client needs it")
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			bad("%T, want a string", v)
			return
		}
		if strings.Contains(tag, "instant") {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				bad("%q is not an ISO-8601 instant", s)
			}
		}
		if strings.Contains(tag, "duration") && (!isoDuration.MatchString(s) || s == "PT" || s == "-PT") {
			bad("%q is not an ISO-8601 duration", s)
		}
		if _, list, ok := strings.Cut(tag, "oneof="); ok {
			list, _, _ = strings.Cut(list, ",")
			if !slices.Contains(strings.Split(list, "|"), strings.ToUpper(s)) {
				bad("%q is not one of %s", s, list)
			}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("%T, want a boolean", v)
		}
	case reflect.Int, reflect.Int64, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			bad("%T, want a number", v)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			bad("%T, want an array", v)
			return
		}
		for i, e := range list {
			checkValue(errs, fmt.Sprintf("%s[%d]", path, i), e, t.Elem(), "required")
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%T, want an object", v)
			return
		}
		for k, e := range obj {
			checkValue(errs, path+"."+k, e, t.Elem(), "")
		}
	case reflect.Pointer:
		checkValue(errs, path, v, t.Elem(), tag)
	case reflect.Interface:
		// Any JSON value.
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%T, want an object", v)
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			ftag := f.Tag.Get("contract")
			fv, present := obj[name]
			if !present {
				if strings.Contains(ftag, "required") {
					*errs = append(*errs, path+"."+name+": missing, but the client needs it")
				}
				continue
			}
			checkValue(errs, path+"."+name, fv, f.Type, ftag)
		}
	default:
		bad("contract type %s not handled", t)
	}
}

// Orca: spinnaker/orca@2fdb327a9f67345c4919e1503ff5119fa3c31caf,
// orca-kayenta/src/main/kotlin/com/netflix/spinnaker/orca/kayenta/KayentaService.kt
// (read with OrcaObjectMapper: jackson-module-kotlin, JavaTimeModule,
// FAIL_ON_UNKNOWN_PROPERTIES off).

// orcaCanaryResults is Orca's CanaryResults (GET /canary/{id}), status one
// of Orca's ExecutionStatus values. MonitorKayentaCanaryTask reads
// result!!.judgeResult.score.score and, for its warning on short series,
// result!!.judgeResult.results[].controlMetadata.stats.count.
type orcaCanaryResults struct {
	Complete               bool                  `json:"complete" contract:"required"`
	Status                 string                `json:"status" contract:"required,oneof=NOT_STARTED|RUNNING|PAUSED|SUSPENDED|SUCCEEDED|FAILED_CONTINUE|TERMINAL|CANCELED|REDIRECT|STOPPED|BUFFERED|SKIPPED"`
	Result                 *orcaCanaryResult     `json:"result"`
	BuildTimeIso           string                `json:"buildTimeIso" contract:"instant"`
	StartTimeIso           string                `json:"startTimeIso" contract:"instant"`
	EndTimeIso             string                `json:"endTimeIso" contract:"instant"`
	StorageAccountName     string                `json:"storageAccountName"`
	Application            string                `json:"application" contract:"required"`
	CanaryExecutionRequest *orcaExecutionRequest `json:"canaryExecutionRequest"`
	Exception              map[string]any        `json:"exception"`
}

type orcaCanaryResult struct {
	JudgeResult    orcaJudgeResult `json:"judgeResult" contract:"required"`
	CanaryDuration string          `json:"canaryDuration" contract:"duration"`
}

type orcaJudgeResult struct {
	Score   orcaJudgeScore        `json:"score" contract:"required"`
	Results []orcaJudgeResultItem `json:"results" contract:"required"`
}

type orcaJudgeScore struct {
	Score                int    `json:"score" contract:"required"`
	Classification       string `json:"classification" contract:"required"`
	ClassificationReason string `json:"classificationReason" contract:"required"`
}

type orcaJudgeResultItem struct {
	ControlMetadata struct {
		Stats struct {
			Count int `json:"count" contract:"required"`
		} `json:"stats" contract:"required"`
	} `json:"controlMetadata" contract:"required"`
}

type orcaExecutionRequest struct {
	Scopes     map[string]orcaScopes `json:"scopes"`
	Thresholds orcaThresholds        `json:"thresholds" contract:"required"`
}

type orcaScopes struct {
	ControlScope    orcaScope `json:"controlScope" contract:"required"`
	ExperimentScope orcaScope `json:"experimentScope" contract:"required"`
}

type orcaScope struct {
	Scope               string            `json:"scope"`
	Location            string            `json:"location"`
	Start               string            `json:"start" contract:"required,instant"`
	End                 string            `json:"end" contract:"required,instant"`
	Step                int64             `json:"step"`
	ExtendedScopeParams map[string]string `json:"extendedScopeParams"`
}

type orcaThresholds struct {
	Pass     int `json:"pass" contract:"required"`
	Marginal int `json:"marginal" contract:"required"`
}

// orcaCredential is Orca's KayentaCredential (GET /credentials).
type orcaCredential struct {
	Name string `json:"name" contract:"required"`
	Type string `json:"type" contract:"required"`
}

// orcaCanaryConfig is Orca's KayentaCanaryConfig (GET /canaryConfig, read
// by ResolveKayentaConfigIdTask to find a config by name and application).
type orcaCanaryConfig struct {
	ID                 string   `json:"id" contract:"required"`
	Name               string   `json:"name" contract:"required"`
	UpdatedTimestamp   int64    `json:"updatedTimestamp"`
	UpdateTimestampIso string   `json:"updateTimestampIso"`
	Applications       []string `json:"applications" contract:"required"`
}

// Kayenta: spinnaker/kayenta@a69573be9d8fededacf80817e4151a2c8df41276,
// kayenta-core/src/main/java/com/netflix/kayenta/canary/CanaryExecutionStatusResponse.java
// and canary/results/*.java, metrics/MetricSetPair.java (@NotNull fields).

type kayentaStatusResponse struct {
	PipelineID  string            `json:"pipelineId" contract:"required"`
	StageStatus map[string]string `json:"stageStatus" contract:"required"`
	Complete    bool              `json:"complete" contract:"required"`
	Status      string            `json:"status" contract:"required,oneof=NOT_STARTED|RUNNING|PAUSED|SUSPENDED|SUCCEEDED|FAILED_CONTINUE|TERMINAL|CANCELED|REDIRECT|STOPPED|BUFFERED|SKIPPED"`
	Result      *struct {
		JudgeResult kayentaJudgeResult `json:"judgeResult" contract:"required"`
	} `json:"result"`
	BuildTimeMillis int64  `json:"buildTimeMillis"`
	BuildTimeIso    string `json:"buildTimeIso" contract:"instant"`
	StartTimeIso    string `json:"startTimeIso" contract:"instant"`
	EndTimeIso      string `json:"endTimeIso" contract:"instant"`
}

type kayentaJudgeResult struct {
	JudgeName string `json:"judgeName" contract:"required"`
	Results   []struct {
		Name               string            `json:"name" contract:"required"`
		Tags               map[string]string `json:"tags" contract:"required"`
		ID                 string            `json:"id" contract:"required"`
		Classification     string            `json:"classification" contract:"required,oneof=PASS|HIGH|LOW|NODATA|NODATAFAILMETRIC|ERROR"`
		Groups             []string          `json:"groups" contract:"required"`
		ExperimentMetadata map[string]any    `json:"experimentMetadata" contract:"required"`
		ControlMetadata    map[string]any    `json:"controlMetadata" contract:"required"`
		ResultMetadata     map[string]any    `json:"resultMetadata" contract:"required"`
		Critical           bool              `json:"critical"`
		Muted              bool              `json:"muted"`
	} `json:"results" contract:"required"`
	GroupScores []struct {
		Name           string  `json:"name" contract:"required"`
		Score          float64 `json:"score" contract:"required"`
		Classification string  `json:"classification" contract:"required"`
	} `json:"groupScores" contract:"required"`
	Score struct {
		Score                float64 `json:"score" contract:"required"`
		Classification       string  `json:"classification" contract:"required,oneof=PASS|MARGINAL|FAIL|NODATA|ERROR"`
		ClassificationReason string  `json:"classificationReason" contract:"required"`
	} `json:"score" contract:"required"`
}

// Deck: spinnaker/deck-kayenta@63c49b54bbcceaadab4119fb78c542c932216c0c,
// src/kayenta/domain/ICanaryExecutionStatusResult.ts, ICanaryJudgeResult.ts
// and IMetricSetPair.ts; required marks what the report and list
// dereference (service/canaryRun.service.ts sets config.id;
// report/list/table.tsx reads canaryExecutionRequest.scopes and
// .thresholds, pipelineId and canaryConfigId; report/detail reads
// canaryExecutionRequest.thresholds and each pair's
// scopes.{control,experiment}.startTimeIso; middleware/epics.ts fetches
// metricSetPairListId and finds a pair by the result's id).

type deckExecution struct {
	CanaryConfigID         string            `json:"canaryConfigId" contract:"required"`
	Complete               bool              `json:"complete" contract:"required"`
	Status                 string            `json:"status" contract:"required"`
	Result                 *deckResult       `json:"result"`
	StageStatus            map[string]string `json:"stageStatus" contract:"required"`
	StartTimeIso           string            `json:"startTimeIso" contract:"instant"`
	EndTimeIso             string            `json:"endTimeIso" contract:"instant"`
	Application            string            `json:"application" contract:"required"`
	PipelineID             string            `json:"pipelineId" contract:"required"`
	MetricSetPairListID    string            `json:"metricSetPairListId"`
	MetricsAccountName     string            `json:"metricsAccountName"`
	Config                 map[string]any    `json:"config" contract:"required"`
	CanaryExecutionRequest struct {
		Thresholds struct {
			Pass     float64 `json:"pass" contract:"required"`
			Marginal float64 `json:"marginal" contract:"required"`
		} `json:"thresholds" contract:"required"`
		Scopes map[string]struct {
			ControlScope    deckScope `json:"controlScope" contract:"required"`
			ExperimentScope deckScope `json:"experimentScope" contract:"required"`
		} `json:"scopes" contract:"required"`
	} `json:"canaryExecutionRequest" contract:"required"`
}

type deckScope struct {
	Scope    string `json:"scope" contract:"required"`
	Location string `json:"location"`
	Start    string `json:"start" contract:"required,instant"`
	End      string `json:"end" contract:"required,instant"`
	Step     int64  `json:"step" contract:"required"`
}

type deckResult struct {
	JudgeResult struct {
		JudgeName string `json:"judgeName" contract:"required"`
		Results   []struct {
			Name                 string            `json:"name" contract:"required"`
			ID                   string            `json:"id" contract:"required"`
			Tags                 map[string]string `json:"tags" contract:"required"`
			Classification       string            `json:"classification" contract:"required"`
			ClassificationReason string            `json:"classificationReason" contract:"required"`
			Groups               []string          `json:"groups" contract:"required"`
			ExperimentMetadata   deckMetadata      `json:"experimentMetadata" contract:"required"`
			ControlMetadata      deckMetadata      `json:"controlMetadata" contract:"required"`
		} `json:"results" contract:"required"`
		GroupScores []struct {
			Name                 string  `json:"name" contract:"required"`
			Score                float64 `json:"score" contract:"required"`
			Classification       string  `json:"classification" contract:"required"`
			ClassificationReason string  `json:"classificationReason" contract:"required"`
		} `json:"groupScores" contract:"required"`
		Score struct {
			Score                float64 `json:"score" contract:"required"`
			Classification       string  `json:"classification" contract:"required,oneof=PASS|MARGINAL|FAIL|NODATA|ERROR"`
			ClassificationReason string  `json:"classificationReason" contract:"required"`
		} `json:"score" contract:"required"`
	} `json:"judgeResult" contract:"required"`
}

type deckMetadata struct {
	Stats struct {
		Count float64 `json:"count" contract:"required"`
		Mean  any     `json:"mean" contract:"required"`
		Min   any     `json:"min" contract:"required"`
		Max   any     `json:"max" contract:"required"`
	} `json:"stats" contract:"required"`
}

// deckMetricSetPair is Deck's IMetricSetPair with Kayenta's
// MetricSetPair's @NotNull fields.
type deckMetricSetPair struct {
	Name       string                        `json:"name" contract:"required"`
	ID         string                        `json:"id" contract:"required"`
	Tags       map[string]string             `json:"tags" contract:"required"`
	Attributes deckAttributes                `json:"attributes" contract:"required"`
	Values     map[string][]any              `json:"values" contract:"required"`
	Scopes     map[string]deckMetricSetScope `json:"scopes" contract:"required"`
}

type deckAttributes struct {
	Control    map[string]string `json:"control" contract:"required"`
	Experiment map[string]string `json:"experiment" contract:"required"`
}

type deckMetricSetScope struct {
	StartTimeIso    string `json:"startTimeIso" contract:"required,instant"`
	StartTimeMillis int64  `json:"startTimeMillis" contract:"required"`
	StepMillis      int64  `json:"stepMillis" contract:"required"`
}

// TestContractChecker pins the checker itself: each rule must catch what
// it is for.
func TestContractChecker(t *testing.T) {
	type inner struct {
		N int `json:"n" contract:"required"`
	}
	type doc struct {
		S  string            `json:"s" contract:"required,oneof=A|B"`
		T  string            `json:"t" contract:"instant"`
		D  string            `json:"d" contract:"duration"`
		In inner             `json:"in" contract:"required"`
		L  []inner           `json:"l"`
		M  map[string]string `json:"m"`
	}
	for _, tc := range []struct {
		json string
		want string // a violation containing this; empty: none
	}{
		{`{"s":"a","t":"2026-01-05T12:00:00Z","d":"PT1H","in":{"n":1.5},"l":[{"n":2}],"m":{"k":"v"},"extra":1}`, ""},
		{`{"t":"2026-01-05T12:00:00Z","in":{"n":1}}`, "$.s: missing"},
		{`{"s":null,"in":{"n":1}}`, "$.s: null"},
		{`{"s":"C","in":{"n":1}}`, `"C" is not one of`},
		{`{"s":"A","t":"yesterday","in":{"n":1}}`, "not an ISO-8601 instant"},
		{`{"s":"A","d":"3600","in":{"n":1}}`, "not an ISO-8601 duration"},
		{`{"s":"A","in":{"n":"1"}}`, "$.in.n: string, want a number"},
		{`{"s":"A","in":{"n":1},"l":[{}]}`, "$.l[0].n: missing"},
		{`{"s":"A","in":{"n":1},"l":[null]}`, "$.l[0]: null"},
		{`{"s":"A","in":{"n":1},"m":{"k":1}}`, "$.m.k: json.Number, want a string"},
	} {
		errs := checkContract([]byte(tc.json), doc{})
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%s: %v, want no violation", tc.json, errs)
		case tc.want != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }):
			t.Errorf("%s: %v, want one containing %q", tc.json, errs, tc.want)
		}
	}
}
