// Package pipelineevent is the one type of a CodePipeline "Action
// Execution State Change" event: the Lambda intake (package webhook)
// decodes it, the release gate (package app/release) acts on it, and
// neither imports the other.
//
// Entry point: ActionEvent.
package pipelineevent

import "time"

// ActionEvent is a "CodePipeline Action Execution State Change" event: its
// detail decoded straight into the fields, and the envelope's identifiers
// beside them. It only triggers a reconcile: which execution and token to
// answer are read from CodePipeline, never taken from an event.
type ActionEvent struct {
	ID      string    `json:"-"` // EventBridge event id
	Account string    `json:"-"` // AWS account of the pipeline
	Region  string    `json:"-"` // region of the event
	Time    time.Time `json:"-"` // when the state changed

	Pipeline          string     `json:"pipeline"`
	ExecutionID       string     `json:"execution-id"` // the pipeline execution
	Stage             string     `json:"stage"`
	Action            string     `json:"action"`
	ActionExecutionID string     `json:"action-execution-id"` // when present
	State             string     `json:"state"`               // STARTED, SUCCEEDED, FAILED, CANCELED, ABANDONED
	Type              ActionType `json:"type"`
	// The detail's "version" fields are not read: AWS has sent them as 1,
	// 1.0 and "1" over the years.
}

// ActionType is the kind of action that changed state.
type ActionType struct {
	Owner    string `json:"owner"`    // AWS, Custom, ThirdParty
	Category string `json:"category"` // Approval for a manual approval
	Provider string `json:"provider"` // Manual for a manual approval
}
