package kayenta

import (
	"encoding/json"

	"github.com/canaryjudge/judge/verdict"
)

// RemoteJudgeRequest is the body Kayenta's RemoteJudge-v1.0 posts to
// {baseUrl}/judge.
type RemoteJudgeRequest struct {
	CanaryConfig      json.RawMessage     `json:"canaryConfig"`
	ScoreThresholds   *verdict.Thresholds `json:"scoreThresholds"`
	MetricSetPairList json.RawMessage     `json:"metricSetPairList"`
}

// ConfigSummary is one entry of GET /canaryConfig.
type ConfigSummary struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	UpdatedTimestamp    int64    `json:"updatedTimestamp"`
	UpdatedTimestampIso string   `json:"updatedTimestampIso"`
	Applications        []string `json:"applications"`
}

// ExecutionResult is the result of a succeeded canary execution.
type ExecutionResult struct {
	JudgeResult JudgeResult `json:"judgeResult"`
	// CanaryDuration is the scopes' common duration in ISO-8601 (Java's
	// Duration.toString, "PT1H"), null when they differ, as Kayenta's.
	CanaryDuration *string `json:"canaryDuration"`
}

// ExecutionStatus is Kayenta's CanaryExecutionStatusResponse: what
// Spinnaker's Orca (its kayenta stage) and Deck's canary report read.
type ExecutionStatus struct {
	Application               string            `json:"application"`
	ParentPipelineExecutionID string            `json:"parentPipelineExecutionId,omitempty"`
	PipelineID                string            `json:"pipelineId"`
	StageStatus               map[string]string `json:"stageStatus"`
	Complete                  bool              `json:"complete"`
	Status                    string            `json:"status"`
	Exception                 map[string]any    `json:"exception,omitempty"`
	Result                    *ExecutionResult  `json:"result,omitempty"`
	// Config is the canary config judged, in Kayenta's form.
	Config                   any               `json:"config,omitempty"`
	CanaryConfigID           string            `json:"canaryConfigId,omitempty"`
	CanaryExecutionRequest   *ExecutionRequest `json:"canaryExecutionRequest,omitempty"`
	MetricSetPairListID      string            `json:"metricSetPairListId,omitempty"`
	BuildTimeMillis          int64             `json:"buildTimeMillis"`
	BuildTimeIso             string            `json:"buildTimeIso"`
	StartTimeMillis          int64             `json:"startTimeMillis,omitempty"`
	StartTimeIso             string            `json:"startTimeIso,omitempty"`
	EndTimeMillis            int64             `json:"endTimeMillis,omitempty"`
	EndTimeIso               string            `json:"endTimeIso,omitempty"`
	MetricsAccountName       string            `json:"metricsAccountName,omitempty"`
	StorageAccountName       string            `json:"storageAccountName,omitempty"`
	ConfigurationAccountName string            `json:"configurationAccountName,omitempty"`
}

// ExecutionRequest is Kayenta's CanaryExecutionRequest as an execution
// reports it back: its scopes and thresholds.
type ExecutionRequest struct {
	Scopes     map[string]ScopePair `json:"scopes"`
	Thresholds verdict.Thresholds   `json:"thresholds"`
}

// ScopePair is Kayenta's CanaryScopePair.
type ScopePair struct {
	ControlScope    Scope `json:"controlScope"`
	ExperimentScope Scope `json:"experimentScope"`
}

// Scope is Kayenta's CanaryScope.
type Scope struct {
	Scope               string            `json:"scope"`
	Location            string            `json:"location"`
	Start               string            `json:"start"`
	End                 string            `json:"end"`
	Step                int64             `json:"step"`
	ExtendedScopeParams map[string]string `json:"extendedScopeParams"`
}

// Execution statuses, lowercased as Kayenta reports Orca's.
const (
	StatusNotStarted = "not_started"
	StatusRunning    = "running"
	StatusSucceeded  = "succeeded"
	StatusTerminal   = "terminal"
	StatusCanceled   = "canceled"
)

// Credential is one entry of GET /credentials.
type Credential struct {
	Name                 string   `json:"name"`
	Type                 string   `json:"type"`
	SupportedTypes       []string `json:"supportedTypes"`
	Locations            []string `json:"locations"`
	RecommendedLocations []string `json:"recommendedLocations"`
}

// Judge is one entry of GET /judges.
type Judge struct {
	Name    string `json:"name"`
	Visible bool   `json:"visible"`
}

// Error is Kayenta's error body.
type Error struct {
	Message string `json:"message"`
}
