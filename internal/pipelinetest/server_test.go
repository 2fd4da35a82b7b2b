package pipelinetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"
)

const (
	revA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	revB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	revC = "cccccccccccccccccccccccccccccccccccccccc"
)

// recorder collects the failures the fake reports instead of failing the
// test, for cases that must be rejected.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errs
	r.errs = nil
	return e
}

func approvalToken(t *testing.T, c *codepipeline.Client, name string) (token, exec string) {
	t.Helper()
	st, err := c.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.StageStates {
		if aws.ToString(s.StageName) != "ApproveChangeSet" {
			continue
		}
		for _, a := range s.ActionStates {
			if aws.ToString(a.ActionName) == "ChecklistApproval" && a.LatestExecution != nil && a.LatestExecution.Status == types.ActionExecutionStatusInProgress {
				return aws.ToString(a.LatestExecution.Token), aws.ToString(s.LatestExecution.PipelineExecutionId)
			}
		}
	}
	return "", ""
}

func put(c *codepipeline.Client, name, token, status, summary string) error {
	_, err := c.PutApprovalResult(context.Background(), &codepipeline.PutApprovalResultInput{
		PipelineName: aws.String(name), StageName: aws.String("ApproveChangeSet"), ActionName: aws.String("ChecklistApproval"),
		Token: aws.String(token), Result: &types.ApprovalResult{Status: types.ApprovalStatus(status), Summary: aws.String(summary)},
	})
	return err
}

// TestRealClientRoundTrip drives a pipeline with the real SDK client: the
// SDK must decode every answer, and the fake's state must follow.
func TestRealClientRoundTrip(t *testing.T) {
	s := New(t)
	c := s.Client()
	ctx := context.Background()
	s.AddPipeline("api-dev", "ApproveChangeSet", "ChecklistApproval", "Notify")
	s.Deployed("api-dev", revA)
	e1 := s.Start("api-dev", revB)
	if tok, _ := approvalToken(t, c, "api-dev"); tok != "" {
		t.Fatalf("token %q before any execution reached the approval", tok)
	}
	s.Arrive("api-dev", e1)
	e2 := s.Start("api-dev", revC)
	s.Arrive("api-dev", e2) // waits in the transition

	st, err := c.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("api-dev")})
	if err != nil {
		t.Fatal(err)
	}
	var stage *types.StageState
	for i := range st.StageStates {
		if aws.ToString(st.StageStates[i].StageName) == "ApproveChangeSet" {
			stage = &st.StageStates[i]
		}
	}
	if stage == nil || aws.ToString(stage.LatestExecution.PipelineExecutionId) != e1 ||
		aws.ToString(stage.InboundExecution.PipelineExecutionId) != e2 || len(stage.ActionStates) != 2 {
		t.Fatalf("approval stage %+v", stage)
	}
	if st.Created == nil || aws.ToInt32(st.PipelineVersion) != 1 {
		t.Errorf("state header: created %v version %v", st.Created, st.PipelineVersion)
	}
	tok, exec := approvalToken(t, c, "api-dev")
	if exec != e1 || tok == "" {
		t.Fatalf("approval %q for %s, want a token for %s", tok, exec, e1)
	}

	ex, err := c.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String("api-dev"), PipelineExecutionId: aws.String(e1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(ex.PipelineExecution.ArtifactRevisions[0].RevisionId); got != revB || ex.PipelineExecution.Status != types.PipelineExecutionStatusInProgress {
		t.Errorf("execution %s: revision %s status %s", e1, got, ex.PipelineExecution.Status)
	}

	if err := put(c, "api-dev", tok, "Approved", "ok"); err != nil {
		t.Fatal(err)
	}
	// The same token again: already answered.
	var done *types.ApprovalAlreadyCompletedException
	if err := put(c, "api-dev", tok, "Approved", "ok"); !errors.As(err, &done) {
		t.Errorf("second answer: %v, want ApprovalAlreadyCompletedException", err)
	}
	// e2 entered the stage with a fresh token.
	tok2, exec2 := approvalToken(t, c, "api-dev")
	if exec2 != e2 || tok2 == tok || tok2 == "" {
		t.Fatalf("after approval: %s %s", exec2, tok2)
	}
	if got := s.Execution("api-dev", e1); got.Status != "Succeeded" || got.ApprovalStatus != "Succeeded" {
		t.Errorf("e1 after approval: %+v", got)
	}
	s.Expire("api-dev")
	var invalid *types.InvalidApprovalTokenException
	if err := put(c, "api-dev", tok2, "Rejected", "late"); !errors.As(err, &invalid) {
		t.Errorf("expired token: %v, want InvalidApprovalTokenException", err)
	}
	var notFound *types.PipelineNotFoundException
	if err := put(c, "api-prod", tok2, "Rejected", "x"); !errors.As(err, &notFound) {
		t.Errorf("unknown pipeline: %v, want PipelineNotFoundException", err)
	}
	res := s.Results("api-dev")
	if len(res) != 1 || res[0].ExecutionID != e1 || res[0].Status != "Approved" || res[0].Revisions[0] != revB {
		t.Errorf("results %+v", res)
	}

	// Listing, newest first, across pages.
	s.PageSize = 1
	var ids []string
	var statuses []types.PipelineExecutionStatus
	pg := codepipeline.NewListPipelineExecutionsPaginator(c, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("api-dev")})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.PipelineExecutionSummaries {
			ids = append(ids, aws.ToString(e.PipelineExecutionId))
			statuses = append(statuses, e.Status)
			if aws.ToString(e.SourceRevisions[0].RevisionId) == "" || e.StartTime == nil {
				t.Errorf("summary without revision or start: %+v", e)
			}
		}
	}
	if len(ids) != 3 || ids[0] != e2 || ids[1] != e1 || statuses[0] != "Failed" || statuses[1] != "Succeeded" || statuses[2] != "Succeeded" {
		t.Errorf("executions %v %v", ids, statuses)
	}
	if n := s.Calls("ListPipelineExecutions"); n != 3 {
		t.Errorf("ListPipelineExecutions calls = %d, want 3 pages", n)
	}
}

func TestFaultsAreRetried(t *testing.T) {
	s := New(t)
	c := s.Client()
	s.AddPipeline("api-dev", "ApproveChangeSet", "ChecklistApproval")
	s.Fail("GetPipelineState", Throttling, Internal)
	if _, err := c.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String("api-dev")}); err != nil {
		t.Fatalf("after two retryable faults: %v", err)
	}
	if n := s.Calls("GetPipelineState"); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
	s.Fail("GetPipelineState", Unavailable, Unavailable, Unavailable)
	_, err := c.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String("api-dev")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ServiceUnavailableException" {
		t.Errorf("three faults with three attempts: %v", err)
	}
}

// signed sends body as op, signed like the SDK does; tamper changes the
// request after signing.
func signed(t *testing.T, s *Server, op, body string, tamper func(*http.Request)) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "codepipeline", Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRejectsWhatAWSRejects(t *testing.T) {
	tok := "0123abcd-0123-4567-89ab-0123456789ab"
	long := strings.Repeat("x", 513)
	tests := map[string]struct {
		op, body string
		tamper   func(*http.Request)
		want     string
	}{
		"well formed (control)": {op: "GetPipelineState", body: `{"name":"api-dev"}`},
		"unknown member":        {op: "GetPipelineState", body: `{"name":"api-dev","verbose":true}`, want: `unknown member "verbose"`},
		"missing name":          {op: "GetPipelineState", body: `{}`, want: `missing required member "name"`},
		"name pattern":          {op: "GetPipelineState", body: `{"name":"api dev"}`, want: "does not match"},
		"name too long":         {op: "GetPipelineState", body: `{"name":"` + strings.Repeat("p", 101) + `"}`, want: "length 101 outside 1..100"},
		"name not string":       {op: "GetPipelineState", body: `{"name":7}`, want: "want a string"},
		"execution id pattern":  {op: "GetPipelineExecution", body: `{"pipelineName":"api-dev","pipelineExecutionId":"exec-1"}`, want: "does not match"},
		"maxResults too big":    {op: "ListPipelineExecutions", body: `{"pipelineName":"api-dev","maxResults":101}`, want: "101 outside 1..100"},
		"maxResults not int":    {op: "ListPipelineExecutions", body: `{"pipelineName":"api-dev","maxResults":1.5}`, want: "want an integer"},
		"nested unknown":        {op: "ListPipelineExecutions", body: `{"pipelineName":"api-dev","filter":{"status":"Succeeded"}}`, want: `filter: unknown member "status"`},
		"summary too long": {op: "PutApprovalResult", want: "result.summary: length 513 outside 0..512",
			body: `{"pipelineName":"api-dev","stageName":"ApproveChangeSet","actionName":"ChecklistApproval","token":"` + tok + `","result":{"status":"Approved","summary":"` + long + `"}}`},
		"status enum": {op: "PutApprovalResult", want: `"approved" is not one of Approved, Rejected`,
			body: `{"pipelineName":"api-dev","stageName":"ApproveChangeSet","actionName":"ChecklistApproval","token":"` + tok + `","result":{"status":"approved","summary":"ok"}}`},
		"token pattern": {op: "PutApprovalResult", want: "token",
			body: `{"pipelineName":"api-dev","stageName":"ApproveChangeSet","actionName":"ChecklistApproval","token":"abc","result":{"status":"Approved","summary":"ok"}}`},
		"missing result": {op: "PutApprovalResult", want: `missing required member "result"`,
			body: `{"pipelineName":"api-dev","stageName":"ApproveChangeSet","actionName":"ChecklistApproval","token":"` + tok + `"}`},
		"missing summary": {op: "PutApprovalResult", want: `result: missing required member "summary"`,
			body: `{"pipelineName":"api-dev","stageName":"ApproveChangeSet","actionName":"ChecklistApproval","token":"` + tok + `","result":{"status":"Approved"}}`},
		"unknown operation": {op: "DeletePipeline", body: `{"name":"api-dev"}`, want: "not an operation the fake serves"},
		"unsigned": {op: "GetPipelineState", body: `{"name":"api-dev"}`, want: "not a SigV4 header",
			tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
		"bad signature": {op: "GetPipelineState", body: `{"name":"api-dev"}`, want: "does not verify",
			tamper: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				last := "0"
				if strings.HasSuffix(a, "0") {
					last = "1"
				}
				r.Header.Set("Authorization", a[:len(a)-1]+last)
			}},
		"signed for another service": {op: "GetPipelineState", body: `{"name":"api-dev"}`, want: "credential scope",
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/codepipeline/", "/codebuild/", 1))
			}},
		"body changed after signing": {op: "GetPipelineState", body: `{"name":"api-dev"}`, want: "does not verify",
			tamper: func(r *http.Request) {
				r.Body = readCloser(`{"name":"api-prd"}`)
			}},
		"wrong content type": {op: "GetPipelineState", body: `{"name":"api-dev"}`, want: "Content-Type",
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			s.AddPipeline("api-dev", "ApproveChangeSet", "ChecklistApproval")
			resp := signed(t, s, tc.op, tc.body, tc.tamper)
			errs := rec.take()
			if tc.want == "" {
				if resp.StatusCode != 200 || len(errs) > 0 {
					t.Fatalf("control request: %d %v", resp.StatusCode, errs)
				}
				return
			}
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Errorf("reported %q, want one report containing %q", errs, tc.want)
			}
			if len(s.Results("api-dev")) != 0 {
				t.Error("a rejected request changed state")
			}
		})
	}
}

type rc struct{ *bytes.Reader }

func (rc) Close() error { return nil }

func readCloser(s string) rc { return rc{bytes.NewReader([]byte(s))} }

// TestNamedSources: an execution's revisions are named by output artifact
// in GetPipelineExecution and by source action in ListPipelineExecutions,
// as CodePipeline names them.
func TestNamedSources(t *testing.T) {
	s := New(t)
	s.AddPipeline("api-dev", "ApproveChangeSet", "ChecklistApproval")
	const version = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
	id := s.StartSources("api-dev", Source{Action: "Source", Revision: revA}, Source{Action: "Config", Revision: version, Provider: "S3"})
	c := s.Client()
	ex, err := c.GetPipelineExecution(context.Background(), &codepipeline.GetPipelineExecutionInput{
		PipelineName: aws.String("api-dev"), PipelineExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	var artifacts []string
	for _, r := range ex.PipelineExecution.ArtifactRevisions {
		artifacts = append(artifacts, aws.ToString(r.Name)+"="+aws.ToString(r.RevisionId))
	}
	if got, want := strings.Join(artifacts, " "), "SourceArtifact="+revA+" ConfigArtifact="+version; got != want {
		t.Errorf("artifact revisions %s, want %s", got, want)
	}
	list, err := c.ListPipelineExecutions(context.Background(), &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("api-dev")})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range list.PipelineExecutionSummaries[0].SourceRevisions {
		actions = append(actions, aws.ToString(r.ActionName)+"="+aws.ToString(r.RevisionId))
	}
	if got, want := strings.Join(actions, " "), "Source="+revA+" Config="+version; got != want {
		t.Errorf("source revisions %s, want %s", got, want)
	}
	if got := s.Execution("api-dev", id); len(got.Sources) != 2 || got.Revisions[1] != version {
		t.Errorf("Execution = %+v", got)
	}
}
