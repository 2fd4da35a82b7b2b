package pipelinetest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/sigv4test"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// The credentials and region the fake expects requests to be signed with.
const (
	Region          = "eu-west-1"
	AccessKeyID     = "AKIDCHECKOFFTEST"
	SecretAccessKey = "checkoff-pipelinetest-secret"
)

const targetPrefix = "CodePipeline_20150709."

// Fault is an error the fake answers with instead of handling a call.
type Fault struct {
	Status  int
	Type    string // the AWS error code, sent as __type
	Message string
}

// Faults AWS answers under load or failure; the SDK retries all three.
var (
	Throttling  = Fault{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
	Internal    = Fault{http.StatusInternalServerError, "InternalFailure", "We encountered an internal error. Please try again."}
	Unavailable = Fault{http.StatusServiceUnavailable, "ServiceUnavailableException", "Service is unavailable"}
)

// Result is one PutApprovalResult the fake accepted.
type Result struct {
	Pipeline, Stage, Action string
	ExecutionID             string
	Revisions               []string // the execution's source revisions
	Token                   string
	Status                  string // Approved or Rejected
	Summary                 string
}

// Source is the revision one source action gave an execution.
type Source struct {
	Action   string // the source action's name; its output artifact is Action+"Artifact"
	Revision string // a commit SHA, an S3 object version id, an image digest
	Provider string // "GitHub" (a CodeStar connection) when empty, "S3", "ECR"
}

// Execution is a snapshot of one pipeline execution.
type Execution struct {
	ID             string
	Sources        []Source
	Revisions      []string // the revisions of Sources, in order
	Status         string   // InProgress, Succeeded, Failed, Superseded, Stopped
	Where          string   // "before", "inbound", "approval", "done"
	ApprovalStatus string   // of its approval action: "", InProgress, Succeeded, Failed
	Token          string   // its approval token, once it reached the approval
}

type execution struct {
	Execution
	started, updated time.Time
	actionExecID     string
	summary          string
	approvalChanged  time.Time
	expired          bool
}

type pipeline struct {
	name, stage, action string
	extraActions        []string // other actions of the approval stage, idle
	execs               []*execution
	atStage, inbound    *execution
	version             int
	created             time.Time
}

// Server is a fake CodePipeline endpoint speaking the AWS JSON 1.1
// protocol. Every request is checked against the API model and SigV4;
// anything AWS would reject fails the test and gets AWS's error.
type Server struct {
	// URL is the endpoint to use as BaseEndpoint.
	URL string
	// PageSize caps ListPipelineExecutions pages below the requested
	// maxResults, to exercise pagination.
	PageSize int

	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	clock     time.Time
	pipelines map[string]*pipeline
	tokens    map[string]*execution // every approval token ever issued
	faults    map[string][]Fault
	hooks     map[string][]func()
	calls     map[string]int
	results   []Result
}

// New starts a fake CodePipeline; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		t:         t,
		clock:     time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
		pipelines: map[string]*pipeline{},
		tokens:    map[string]*execution{},
		faults:    map[string][]Fault{},
		hooks:     map[string][]func(){},
		calls:     map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns a real *codepipeline.Client for the fake: static
// credentials, the fake's region and URL, and the standard retryer with
// millisecond backoff so retries of injected faults are quick.
func (s *Server) Client() *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.srv.Client(),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		Retryer:      sigv4test.Retryer(),
	})
}

// AddPipeline creates a pipeline whose stage holds the Manual approval
// action. extra names other actions of that stage (never waiting).
func (s *Server) AddPipeline(name, stage, action string, extra ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pipelines[name] = &pipeline{name: name, stage: stage, action: action, extraActions: extra, version: 1, created: s.tick()}
}

// Deployed records an execution that already succeeded with revisions
// (what is deployed) and returns its id. The revisions come from GitHub
// source actions named Source, Source2, ...
func (s *Server) Deployed(name string, revisions ...string) string {
	return s.DeployedSources(name, gitHubSources(revisions)...)
}

// DeployedSources is Deployed for an execution of named source actions.
func (s *Server) DeployedSources(name string, sources ...Source) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.newExec(s.mustPipeline(name), sources)
	e.Status, e.Where = "Succeeded", "done"
	return e.ID
}

// Start starts an execution of revisions (from GitHub source actions named
// Source, Source2, ...); it runs the stages before the approval until
// Arrive.
func (s *Server) Start(name string, revisions ...string) string {
	return s.StartSources(name, gitHubSources(revisions)...)
}

// StartSources is Start for an execution of named source actions.
func (s *Server) StartSources(name string, sources ...Source) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newExec(s.mustPipeline(name), sources).ID
}

func gitHubSources(revisions []string) []Source {
	out := make([]Source, len(revisions))
	for i, rev := range revisions {
		out[i] = Source{Action: "Source", Revision: rev}
		if i > 0 {
			out[i].Action = fmt.Sprintf("Source%d", i+1)
		}
	}
	return out
}

// Arrive moves an execution to the approval stage. If another execution
// is waiting there, it waits at the inbound transition, superseding any
// execution already waiting in the transition (as CodePipeline's
// SUPERSEDED mode does).
func (s *Server) Arrive(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustPipeline(name)
	e := s.mustExec(p, id)
	if e.Status != "InProgress" || e.Where != "before" {
		s.t.Fatalf("pipelinetest: Arrive %s: execution is %s/%s", id, e.Status, e.Where)
	}
	if p.atStage != nil {
		if p.inbound != nil {
			s.finish(p.inbound, "Superseded")
		}
		e.Where, p.inbound = "inbound", e
		return
	}
	s.enter(p, e)
}

// Supersede marks an execution that has not reached the approval as
// superseded by a newer one.
func (s *Server) Supersede(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustPipeline(name)
	e := s.mustExec(p, id)
	if e.Where != "before" && e.Where != "inbound" {
		s.t.Fatalf("pipelinetest: Supersede %s: execution is %s", id, e.Where)
	}
	if p.inbound == e {
		p.inbound = nil
	}
	s.finish(e, "Superseded")
}

// ApproveByHand answers the waiting approval as a person in the console
// would. The answer is not counted in Results.
func (s *Server) ApproveByHand(name string) { s.byHand(name, "Approved") }

// RejectByHand rejects the waiting approval as a person would.
func (s *Server) RejectByHand(name string) { s.byHand(name, "Rejected") }

// Expire lets the waiting approval time out (7 days in CodePipeline).
func (s *Server) Expire(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustPipeline(name)
	if p.atStage == nil || p.atStage.ApprovalStatus != "InProgress" {
		s.t.Fatalf("pipelinetest: Expire %s: no approval waiting", name)
	}
	p.atStage.summary, p.atStage.expired = "Approval timed out", true
	s.answer(p, "Failed", "Failed")
}

func (s *Server) byHand(name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustPipeline(name)
	if p.atStage == nil || p.atStage.ApprovalStatus != "InProgress" {
		s.t.Fatalf("pipelinetest: %s by hand on %s: no approval waiting", status, name)
	}
	p.atStage.summary = status + " by hand"
	if status == "Approved" {
		s.answer(p, "Succeeded", "Succeeded")
	} else {
		s.answer(p, "Failed", "Failed")
	}
}

// Fail makes the next calls to op (e.g. "PutApprovalResult") answer with
// faults, one call each, before the fake handles calls again.
func (s *Server) Fail(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], faults...)
}

// Before runs fn once, just before the fake handles the next call to op:
// a way to change the pipeline between two calls of a client.
func (s *Server) Before(op string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[op] = append(s.hooks[op], fn)
}

// Calls counts the requests made for op, faulted ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Results returns the PutApprovalResult calls the fake accepted for the
// pipeline, in order.
func (s *Server) Results(name string) []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for _, r := range s.results {
		if r.Pipeline == name {
			out = append(out, r)
		}
	}
	return out
}

// Execution returns a snapshot of an execution.
func (s *Server) Execution(name, id string) Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.mustExec(s.mustPipeline(name), id)
	ex := e.Execution
	ex.Revisions = append([]string(nil), e.Revisions...)
	ex.Sources = append([]Source(nil), e.Sources...)
	return ex
}

// Waiting returns the execution waiting at the approval, if any.
func (s *Server) Waiting(name string) (Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustPipeline(name)
	if p.atStage == nil || p.atStage.ApprovalStatus != "InProgress" {
		return Execution{}, false
	}
	return p.atStage.Execution, true
}

// --- simulation (s.mu held) ---

func (s *Server) tick() time.Time {
	s.clock = s.clock.Add(time.Minute)
	return s.clock
}

func (s *Server) mustPipeline(name string) *pipeline {
	p, ok := s.pipelines[name]
	if !ok {
		s.t.Fatalf("pipelinetest: no pipeline %q", name)
	}
	return p
}

func (s *Server) mustExec(p *pipeline, id string) *execution {
	for _, e := range p.execs {
		if e.ID == id {
			return e
		}
	}
	s.t.Fatalf("pipelinetest: pipeline %s has no execution %s", p.name, id)
	return nil
}

func (s *Server) newExec(p *pipeline, sources []Source) *execution {
	if len(sources) == 0 {
		s.t.Fatalf("pipelinetest: an execution needs a source revision")
	}
	seen := map[string]bool{}
	var revisions []string
	for _, src := range sources {
		if !actionName.pattern.MatchString(src.Action) || src.Revision == "" || seen[src.Action] {
			s.t.Fatalf("pipelinetest: source %+v: want a unique action name and a revision", src)
		}
		seen[src.Action] = true
		revisions = append(revisions, src.Revision)
	}
	now := s.tick()
	e := &execution{Execution: Execution{ID: uuid(), Sources: append([]Source(nil), sources...), Revisions: revisions,
		Status: "InProgress", Where: "before"}, started: now, updated: now}
	p.execs = append(p.execs, e)
	return e
}

func (s *Server) enter(p *pipeline, e *execution) {
	e.Where, e.ApprovalStatus, e.Token, e.actionExecID = "approval", "InProgress", uuid(), uuid()
	e.approvalChanged, e.updated = s.tick(), s.clock
	p.atStage = e
	s.tokens[e.Token] = e
}

func (s *Server) finish(e *execution, status string) {
	e.Status, e.Where, e.updated = status, "done", s.tick()
}

// answer completes the waiting approval; the rest of the pipeline runs
// at once, and the execution waiting in the transition enters the stage.
func (s *Server) answer(p *pipeline, approval, exec string) {
	e := p.atStage
	e.ApprovalStatus, e.approvalChanged = approval, s.tick()
	s.finish(e, exec)
	p.atStage = nil
	if in := p.inbound; in != nil {
		p.inbound = nil
		s.enter(p, in)
	}
}

func uuid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// --- protocol ---

type apiError struct {
	Fault
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("pipelinetest: read body: %v", err)
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if problems := s.checkRequest(r, body, op); len(problems) > 0 {
		s.t.Errorf("pipelinetest: %s request AWS would reject:\n  %s\n  body: %s", op, strings.Join(problems, "\n  "), body)
		code := "ValidationException"
		if _, ok := inputs[op]; !ok {
			code = "UnknownOperationException"
		}
		writeError(w, Fault{http.StatusBadRequest, code, strings.Join(problems, "; ")})
		return
	}

	s.mu.Lock()
	s.calls[op]++
	if q := s.faults[op]; len(q) > 0 {
		s.faults[op] = q[1:]
		s.mu.Unlock()
		writeError(w, q[0])
		return
	}
	var hook func()
	if q := s.hooks[op]; len(q) > 0 {
		hook, s.hooks[op] = q[0], q[1:]
	}
	s.mu.Unlock()
	if hook != nil {
		hook()
	}

	s.mu.Lock()
	out, ferr := s.handle(op, body)
	s.mu.Unlock()
	if ferr != nil {
		writeError(w, ferr.Fault)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		s.t.Errorf("pipelinetest: encode %s answer: %v", op, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", uuid())
	w.Write(data)
}

func writeError(w http.ResponseWriter, f Fault) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", uuid())
	w.WriteHeader(f.Status)
	data, _ := json.Marshal(map[string]string{"__type": f.Type, "message": f.Message})
	w.Write(data)
}

// checkRequest returns why AWS would reject the request: transport,
// signature and the input's shape.
func (s *Server) checkRequest(r *http.Request, body []byte, op string) []string {
	var problems []string
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		problems = append(problems, fmt.Sprintf("want POST /, got %s %s", r.Method, r.URL.Path))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want application/x-amz-json-1.1", ct))
	}
	in, ok := inputs[op]
	if !ok {
		return append(problems, fmt.Sprintf("X-Amz-Target %q is not an operation the fake serves", r.Header.Get("X-Amz-Target")))
	}
	problems = append(problems, sigv4test.Check(r, body, sigv4test.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Region: Region, Service: "codepipeline"})...)
	if !json.Valid(body) {
		return append(problems, "body is not JSON")
	}
	return append(problems, validate("", body, in)...)
}

// --- operations (s.mu held) ---

func (s *Server) handle(op string, body []byte) (any, *apiError) {
	switch op {
	case "GetPipelineState":
		var in struct{ Name string }
		json.Unmarshal(body, &in)
		p, err := s.pipeline(in.Name)
		if err != nil {
			return nil, err
		}
		return s.state(p), nil
	case "GetPipelineExecution":
		var in struct{ PipelineName, PipelineExecutionId string }
		json.Unmarshal(body, &in)
		p, err := s.pipeline(in.PipelineName)
		if err != nil {
			return nil, err
		}
		for _, e := range p.execs {
			if e.ID == in.PipelineExecutionId {
				return map[string]any{"pipelineExecution": s.executionJSON(p, e)}, nil
			}
		}
		return nil, &apiError{Fault{400, "PipelineExecutionNotFoundException", "Pipeline execution " + in.PipelineExecutionId + " not found"}}
	case "ListPipelineExecutions":
		return s.list(body)
	case "PutApprovalResult":
		return s.putApproval(body)
	}
	return nil, &apiError{Fault{400, "UnknownOperationException", op}}
}

func (s *Server) pipeline(name string) (*pipeline, *apiError) {
	p, ok := s.pipelines[name]
	if !ok {
		return nil, &apiError{Fault{400, "PipelineNotFoundException", "Account does not have a pipeline with name '" + name + "'"}}
	}
	return p, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) state(p *pipeline) map[string]any {
	var latest, lastDone *execution
	for _, e := range p.execs {
		latest = e
		if e.Status == "Succeeded" {
			lastDone = e
		}
	}
	stageExec := func(e *execution, status string) map[string]any {
		return map[string]any{"pipelineExecutionId": e.ID, "status": status, "type": "STANDARD"}
	}
	var stages []map[string]any
	if latest != nil {
		stages = append(stages, map[string]any{
			"stageName": "Source",
			"actionStates": []any{map[string]any{
				"actionName":      "Source",
				"currentRevision": map[string]any{"revisionId": latest.Revisions[0], "revisionChangeId": latest.Revisions[0], "created": epoch(latest.started)},
				"latestExecution": map[string]any{"actionExecutionId": uuid(), "status": "Succeeded", "lastStatusChange": epoch(latest.started), "summary": "Source revision " + latest.Revisions[0][:7]},
			}},
			"latestExecution": stageExec(latest, "Succeeded"),
		})
	}
	approval := map[string]any{"stageName": p.stage, "inboundTransitionState": map[string]any{"enabled": true}}
	actions := []any{}
	// The stage shows its latest execution: the one waiting, or the last
	// one that went through.
	var shown *execution
	for _, e := range p.execs {
		if e.ApprovalStatus != "" && (shown == nil || e.approvalChanged.After(shown.approvalChanged)) {
			shown = e
		}
	}
	if p.atStage != nil {
		shown = p.atStage
	}
	act := map[string]any{"actionName": p.action}
	if shown != nil {
		ae := map[string]any{
			"actionExecutionId": shown.actionExecID,
			"status":            shown.ApprovalStatus,
			"lastStatusChange":  epoch(shown.approvalChanged),
			"token":             shown.Token,
		}
		if shown.summary != "" {
			ae["summary"] = shown.summary
			ae["lastUpdatedBy"] = "arn:aws:iam::123456789012:user/release-manager"
		}
		act["latestExecution"] = ae
		status := "InProgress"
		switch shown.ApprovalStatus {
		case "Succeeded":
			status = "Succeeded"
		case "Failed":
			status = "Failed"
		}
		approval["latestExecution"] = stageExec(shown, status)
	}
	actions = append(actions, act)
	for _, name := range p.extraActions {
		a := map[string]any{"actionName": name}
		if shown != nil {
			a["latestExecution"] = map[string]any{"actionExecutionId": uuid(), "status": "Succeeded", "lastStatusChange": epoch(shown.started)}
		}
		actions = append(actions, a)
	}
	approval["actionStates"] = actions
	if p.inbound != nil {
		approval["inboundExecution"] = stageExec(p.inbound, "InProgress")
		approval["inboundExecutions"] = []any{stageExec(p.inbound, "InProgress")}
	}
	stages = append(stages, approval)
	if lastDone != nil {
		stages = append(stages, map[string]any{
			"stageName":       "ExecuteChangeSet",
			"actionStates":    []any{map[string]any{"actionName": "ExecuteChangeSet", "latestExecution": map[string]any{"status": "Succeeded", "lastStatusChange": epoch(lastDone.updated)}}},
			"latestExecution": stageExec(lastDone, "Succeeded"),
		})
	}
	return map[string]any{
		"pipelineName": p.name, "pipelineVersion": p.version,
		"created": epoch(p.created), "updated": epoch(p.created),
		"stageStates": stages,
	}
}

// revisionsJSON renders an execution's revisions as GetPipelineExecution's
// artifactRevisions (named by output artifact) or ListPipelineExecutions'
// sourceRevisions (named by source action).
func revisionsJSON(e *execution, key string) []any {
	out := make([]any, len(e.Sources))
	for i, src := range e.Sources {
		rev := src.Revision
		summary := `{"ProviderType":"GitHub","CommitMessage":"Merge"}`
		url := "https://github.com/acme/invoice-log-api/commit/" + rev
		switch src.Provider {
		case "S3":
			summary, url = "Amazon S3 version id: "+rev, "https://console.aws.amazon.com/s3/"
		case "ECR":
			summary, url = "Image digest: "+rev, "https://console.aws.amazon.com/ecr/"
		}
		if key == "artifact" {
			out[i] = map[string]any{"name": src.Action + "Artifact", "revisionId": rev, "revisionChangeIdentifier": rev, "revisionSummary": summary, "revisionUrl": url, "created": epoch(e.started)}
		} else {
			out[i] = map[string]any{"actionName": src.Action, "revisionId": rev, "revisionSummary": summary, "revisionUrl": url}
		}
	}
	return out
}

func (s *Server) executionJSON(p *pipeline, e *execution) map[string]any {
	return map[string]any{
		"pipelineName": p.name, "pipelineVersion": p.version, "pipelineExecutionId": e.ID,
		"status": e.Status, "artifactRevisions": revisionsJSON(e, "artifact"),
		"trigger":       map[string]any{"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:eu-west-1:123456789012:rule/codepipeline-source"},
		"executionMode": "SUPERSEDED", "executionType": "STANDARD",
	}
}

func (s *Server) list(body []byte) (any, *apiError) {
	var in struct {
		PipelineName string
		MaxResults   *int
		NextToken    *string
		Filter       *struct{ SucceededInStage *struct{ StageName string } }
	}
	json.Unmarshal(body, &in)
	p, err := s.pipeline(in.PipelineName)
	if err != nil {
		return nil, err
	}
	size := 100
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	if s.PageSize > 0 && s.PageSize < size {
		size = s.PageSize
	}
	start := 0
	if in.NextToken != nil {
		var ok bool
		if start, ok = decodeToken(p.name, *in.NextToken); !ok {
			return nil, &apiError{Fault{400, "InvalidNextTokenException", "The next token is invalid"}}
		}
	}
	var all []*execution
	for i := len(p.execs) - 1; i >= 0; i-- { // newest first
		e := p.execs[i]
		if in.Filter != nil && in.Filter.SucceededInStage != nil && e.Status != "Succeeded" {
			continue
		}
		all = append(all, e)
	}
	out := map[string]any{}
	summaries := []any{}
	end := min(start+size, len(all))
	for _, e := range all[min(start, len(all)):end] {
		summaries = append(summaries, map[string]any{
			"pipelineExecutionId": e.ID, "status": e.Status,
			"startTime": epoch(e.started), "lastUpdateTime": epoch(e.updated),
			"sourceRevisions": revisionsJSON(e, "source"),
			"trigger":         map[string]any{"triggerType": "CloudWatchEvent"},
			"executionMode":   "SUPERSEDED", "executionType": "STANDARD",
		})
	}
	out["pipelineExecutionSummaries"] = summaries
	if end < len(all) {
		out["nextToken"] = encodeToken(p.name, end)
	}
	return out, nil
}

func encodeToken(pipeline string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s|%d", pipeline, offset)))
}

func decodeToken(pipeline, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var name string
	var off int
	name, rest, ok := strings.Cut(string(raw), "|")
	if !ok || name != pipeline {
		return 0, false
	}
	if _, err := fmt.Sscanf(rest, "%d", &off); err != nil || off < 0 {
		return 0, false
	}
	return off, true
}

func (s *Server) putApproval(body []byte) (any, *apiError) {
	var in struct {
		PipelineName, StageName, ActionName, Token string
		Result                                     struct{ Summary, Status string }
	}
	json.Unmarshal(body, &in)
	p, err := s.pipeline(in.PipelineName)
	if err != nil {
		return nil, err
	}
	if in.StageName != p.stage && in.StageName != "Source" && in.StageName != "ExecuteChangeSet" {
		return nil, &apiError{Fault{400, "StageNotFoundException", "Stage " + in.StageName + " not found"}}
	}
	if in.StageName != p.stage || in.ActionName != p.action {
		return nil, &apiError{Fault{400, "ActionNotFoundException", "Action " + in.ActionName + " is not an approval action of stage " + in.StageName}}
	}
	e, known := s.tokens[in.Token]
	switch {
	case !known || e.expired:
		return nil, &apiError{Fault{400, "InvalidApprovalTokenException", "The approval request already received a response or has expired"}}
	case e.ApprovalStatus != "InProgress":
		return nil, &apiError{Fault{400, "ApprovalAlreadyCompletedException", "The approval action has already been approved or rejected"}}
	case p.atStage != e:
		return nil, &apiError{Fault{400, "InvalidApprovalTokenException", "The approval request already received a response or has expired"}}
	}
	s.results = append(s.results, Result{
		Pipeline: p.name, Stage: in.StageName, Action: in.ActionName, ExecutionID: e.ID,
		Revisions: append([]string(nil), e.Revisions...), Token: in.Token,
		Status: in.Result.Status, Summary: in.Result.Summary,
	})
	e.summary = in.Result.Summary
	if in.Result.Status == "Approved" {
		s.answer(p, "Succeeded", "Succeeded")
	} else {
		s.answer(p, "Failed", "Failed")
	}
	return map[string]any{"approvedAt": epoch(s.clock)}, nil
}
