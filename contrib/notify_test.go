package contrib

import (
	"reflect"
	"testing"
)

// TestPipelineApprovalNotification: the approval action expires after
// ApprovalTimeoutMinutes, and tells ApprovalTopicArn when it starts
// waiting; only then may the pipeline role publish, and only to that topic.
func TestPipelineApprovalNotification(t *testing.T) {
	const topic = "arn:aws:sns:" + region + ":" + account + ":checkoff-releases"
	for name, tc := range map[string]struct {
		refs        map[string]string
		wantTopic   string
		wantTimeout any
	}{
		"defaults":       {wantTimeout: 10080.0},
		"topic, 2 days":  {refs: map[string]string{"ApprovalTopicArn": topic, "ApprovalTimeoutMinutes": "2880"}, wantTopic: topic, wantTimeout: "2880"},
		"no topic, 1 hr": {refs: map[string]string{"ApprovalTimeoutMinutes": "60"}, wantTimeout: "60"},
	} {
		t.Run(name, func(t *testing.T) {
			st := loadPipeline(t, "dev", checkoffArn)
			for k, v := range tc.refs {
				st.v.Refs[k] = v
			}
			p, err := st.v.Resolve(st.tpl.Resources["Pipeline"].Properties)
			if err != nil {
				t.Fatal(err)
			}
			st.pipeline = p.(map[string]any)
			byName, _ := st.stages(t)
			approvals := byName["ApproveChangeSet"]
			if len(approvals) != 1 {
				t.Fatalf("approval actions %v", approvals)
			}
			a := approvals[0]
			if !reflect.DeepEqual(a["TimeoutInMinutes"], tc.wantTimeout) {
				t.Errorf("TimeoutInMinutes %#v, want %#v", a["TimeoutInMinutes"], tc.wantTimeout)
			}
			conf, _ := a["Configuration"].(map[string]any)
			got, set := conf["NotificationArn"]
			if (tc.wantTopic != "") != set || (set && got != tc.wantTopic) {
				t.Errorf("NotificationArn %v (set %v), want %q", got, set, tc.wantTopic)
			}

			stmts, err := st.tpl.Statements()
			if err != nil {
				t.Fatal(err)
			}
			var publish []string
			for _, s := range stmts {
				if s.Condition != "" {
					on, err := st.v.Condition(s.Condition)
					if err != nil {
						t.Fatal(err)
					}
					if !on {
						continue
					}
				}
				for _, action := range s.Actions {
					if action != "sns:Publish" {
						continue
					}
					for _, r := range s.Resources {
						arn, err := st.v.String(r)
						if err != nil {
							t.Fatal(err)
						}
						publish = append(publish, s.Holder+" "+arn)
					}
				}
			}
			var want []string
			if tc.wantTopic != "" {
				want = []string{"PipelineNotifyPolicy " + tc.wantTopic}
			}
			if !reflect.DeepEqual(publish, want) {
				t.Errorf("sns:Publish grants %v, want %v", publish, want)
			}
		})
	}
}
