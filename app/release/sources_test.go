package release

import (
	"context"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// s3Version is an S3 object version id, the revision of an S3 source.
const s3Version = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"

// TestSeveralSourceActions: a pipeline with a GitHub source and an S3
// source was approved on the commit alone, the S3 revision skipped
// silently. The release config names the source action to judge; with
// several sources and none named, nothing is approved and the error says
// why (issue 16, item 7).
func TestSeveralSourceActions(t *testing.T) {
	tests := map[string]struct {
		sourceAction string
		// sources are the waiting execution's, given dev's head.
		sources  func(head string) []pipelinetest.Source
		complete bool
		want     Decision // Nothing with wantErr
		wantErr  string
	}{
		"GitHub and S3, none named": {
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Source", Revision: head}, {Action: "Config", Revision: s3Version, Provider: "S3"}}
			},
			complete: true, wantErr: "more than one source revision (Source {head}, Config 3/L4kqt)",
		},
		"two GitHub sources, none named": {
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Source", Revision: head}, {Action: "Tools", Revision: strings.Repeat("d", 40)}}
			},
			complete: true, wantErr: "more than one source commit",
		},
		"GitHub and S3, the GitHub source named": {
			sourceAction: "Source",
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Config", Revision: s3Version, Provider: "S3"}, {Action: "Source", Revision: head}}
			},
			complete: true, want: Approved,
		},
		"the named source holds": {
			sourceAction: "Source",
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Config", Revision: s3Version, Provider: "S3"}, {Action: "Source", Revision: head}}
			},
			complete: false, want: Waiting,
		},
		"the S3 source named": {
			sourceAction: "Config",
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Source", Revision: head}, {Action: "Config", Revision: s3Version, Provider: "S3"}}
			},
			complete: true, wantErr: "source action Config's revision 3/L4kqt",
		},
		"the named source is not in the execution": {
			sourceAction: "App",
			sources: func(head string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Source", Revision: head}, {Action: "Config", Revision: s3Version, Provider: "S3"}}
			},
			complete: true, wantErr: `no source action "App" (sources: Source, Config)`,
		},
		"one S3 source": {
			sources: func(string) []pipelinetest.Source {
				return []pipelinetest.Source{{Action: "Source", Revision: s3Version, Provider: "S3"}}
			},
			complete: true, wantErr: "is not a git commit",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{sourceAction: tc.sourceAction})
			v := e.merge(12, tc.complete, "Author Checklist: Has the author tested changes?")
			if err := verdict.Put(context.Background(), e.st, v); err != nil {
				t.Fatal(err)
			}
			exec := e.cp.StartSources(devPipeline, tc.sources(e.head)...)
			e.cp.Arrive(devPipeline, exec)
			out, err := e.started(exec)
			if tc.wantErr != "" {
				tc.wantErr = strings.ReplaceAll(tc.wantErr, "{head}", v.MergeSHA[:7])
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), exec) {
					t.Fatalf("outcome %v, error %v; want an error naming the execution and %q", out, err, tc.wantErr)
				}
				if out.Decision != Nothing || !strings.Contains(out.Reason, tc.wantErr) {
					t.Errorf("outcome %+v: want no decision, with the reason", out)
				}
				e.wantResults()
				return
			}
			if err != nil || out.Decision != tc.want {
				t.Fatalf("outcome %v, error %v; want %s", out, err, tc.want)
			}
			if out.Revision != v.MergeSHA {
				t.Errorf("judged revision %s, want the named source's %s", out.Revision, v.MergeSHA)
			}
		})
	}
}

// TestDeployedJudgedOnTheNamedSource: what is deployed is the named
// source's revision of the last succeeded execution, whatever else it had.
func TestDeployedJudgedOnTheNamedSource(t *testing.T) {
	e := newEnv(t, envOptions{sourceAction: "Source"})
	v12 := e.merge(12, true)
	if err := verdict.Put(context.Background(), e.st, v12); err != nil {
		t.Fatal(err)
	}
	e.cp.DeployedSources(devPipeline, pipelinetest.Source{Action: "Config", Revision: s3Version, Provider: "S3"},
		pipelinetest.Source{Action: "Source", Revision: v12.MergeSHA})
	v13 := e.merge(13, true)
	if err := verdict.Put(context.Background(), e.st, v13); err != nil {
		t.Fatal(err)
	}
	exec := e.cp.StartSources(devPipeline, pipelinetest.Source{Action: "Source", Revision: v13.MergeSHA},
		pipelinetest.Source{Action: "Config", Revision: s3Version, Provider: "S3"})
	e.cp.Arrive(devPipeline, exec)
	out := must(t, Approved)(e.started(exec))
	if out.Deployed != v12.MergeSHA || len(out.PRs) != 1 || out.PRs[0] != 13 {
		t.Errorf("outcome %+v: want #13 alone, since %s", out, v12.MergeSHA[:7])
	}
}
