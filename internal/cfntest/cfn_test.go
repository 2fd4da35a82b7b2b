package cfntest

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeYAMLIntrinsics(t *testing.T) {
	tests := map[string]struct {
		in   string
		want any
		err  string
	}{
		"ref":            {in: "a: !Ref Bucket", want: map[string]any{"a": map[string]any{"Ref": "Bucket"}}},
		"getatt dotted":  {in: "a: !GetAtt Table.Arn", want: map[string]any{"a": map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}}},
		"getatt list":    {in: "a: !GetAtt [Table, Arn]", want: map[string]any{"a": map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}}},
		"sub string":     {in: "a: !Sub 'arn:${AWS::Partition}:s3:::${B}'", want: map[string]any{"a": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${B}"}}},
		"nested":         {in: "a: !Not [!Equals [!Ref P, '']]", want: map[string]any{"a": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "P"}, ""}}}}}},
		"numbers":        {in: "a: 256\nb: 1.5\nc: true\nd: null", want: map[string]any{"a": 256.0, "b": 1.5, "c": true, "d": nil}},
		"long form kept": {in: "a:\n  Fn::Join: ['', [x, y]]", want: map[string]any{"a": map[string]any{"Fn::Join": []any{"", []any{"x", "y"}}}}},
		"alias":          {in: "a: &x [1]\nb: *x", want: map[string]any{"a": []any{1.0}, "b": []any{1.0}}},
		"unknown tag":    {in: "a: !Reff X", err: "unknown tag !Reff"},
		"getatt no attr": {in: "a: !GetAtt Table", err: "want Resource.Attribute"},
		"duplicate key":  {in: "a: 1\na: 2", err: "duplicate key"},
		"bad yaml":       {in: "a: [", err: "yaml"},
		"empty":          {in: "", err: "empty document"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeYAML([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("DecodeYAML(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeYAML(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodeYAML(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

const sampleTemplate = `
Parameters:
  Stage:
    Type: String
    Default: dev
  KeyArn:
    Type: String
    Default: ''
Mappings:
  Stages:
    dev: {Branch: dev}
    prod: {Branch: master}
Conditions:
  HasKey: !Not [!Equals [!Ref KeyArn, '']]
  IsProd: !Equals [!Ref Stage, prod]
  Both: !And [!Condition HasKey, !Condition IsProd]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      Policies:
        - PolicyName: main
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: !Sub 'arn:${AWS::Partition}:s3:::bucket-${Stage}/*'
              - Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:Query]
                Resource: [!GetAtt Table.Arn]
  KeyPolicy:
    Type: AWS::IAM::Policy
    Condition: HasKey
    Properties:
      PolicyName: key
      Roles: [!Ref Role]
      PolicyDocument:
        Statement:
          Effect: Allow
          NotAction: kms:Decrypt
          Resource: !Ref KeyArn
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      Name: !Join ['-', [t, !FindInMap [Stages, !Ref Stage, Branch], !If [IsProd, p, !Ref AWS::NoValue]]]
`

func TestTemplateStatementsAndValues(t *testing.T) {
	tpl, err := ParseTemplate([]byte(sampleTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.OfType("AWS::IAM::Role"); !reflect.DeepEqual(got, []string{"Role"}) {
		t.Errorf("OfType(Role) = %v", got)
	}
	stmts, err := tpl.Statements()
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 3 {
		t.Fatalf("Statements() = %d statements, want 3: %+v", len(stmts), stmts)
	}
	if s := stmts[0]; s.Holder != "KeyPolicy" || s.Condition != "HasKey" || len(s.NotAction) != 1 ||
		!reflect.DeepEqual(s.WildcardActions(), []string{"NotAction:kms:Decrypt"}) {
		t.Errorf("KeyPolicy statement = %+v", s)
	}
	if s := stmts[2]; s.Holder != "Role" || s.Policy != "main" || !reflect.DeepEqual(s.Actions, []string{"dynamodb:GetItem", "dynamodb:Query"}) ||
		len(s.WildcardActions()) != 0 {
		t.Errorf("Role statement = %+v", s)
	}
	if got := tpl.ManagedPolicyArns(); len(got["Role"]) != 1 {
		t.Errorf("ManagedPolicyArns() = %v", got)
	}

	v := &Values{Template: tpl, Refs: Pseudo("us-east-1", "123456789012", "s"), Attrs: map[string]string{"Table.Arn": "arn:table"}}
	for name, tc := range map[string]struct {
		x    any
		want string
	}{
		"sub with parameter default": {stmts[1].Resources[0], "arn:aws:s3:::bucket-dev/*"},
		"getatt":                     {stmts[2].Resources[0], "arn:table"},
		"join findinmap novalue":     {tpl.Resources["Table"].Properties["Name"], "t-dev"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := v.String(tc.x)
			if err != nil || got != tc.want {
				t.Errorf("String(%v) = %q, %v; want %q", tc.x, got, err, tc.want)
			}
		})
	}
	if on, err := v.Condition("HasKey"); err != nil || on {
		t.Errorf("Condition(HasKey) with no key = %v, %v; want false", on, err)
	}

	prod := &Values{Template: tpl, Refs: map[string]string{"Stage": "prod", "KeyArn": "arn:key"}}
	if name, err := prod.String(tpl.Resources["Table"].Properties["Name"]); err != nil || name != "t-master-p" {
		t.Errorf("prod table name = %q, %v; want t-master-p", name, err)
	}
	if both, err := prod.Condition("Both"); err != nil || !both {
		t.Errorf("Condition(Both) in prod with a key = %v, %v; want true", both, err)
	}
	if _, err := v.String(map[string]any{"Ref": "Missing"}); err == nil {
		t.Error("Ref to an unknown name resolved; want an error")
	}
	if _, err := v.String(map[string]any{"Fn::Sub": "${Nope.Arn}"}); err == nil {
		t.Error("Fn::Sub of an unknown attribute resolved; want an error")
	}
	if got, err := v.String(map[string]any{"Fn::Sub": "${!Literal}-${AWS::Region}"}); err != nil || got != "${Literal}-us-east-1" {
		t.Errorf("Fn::Sub escape = %q, %v", got, err)
	}
}

func TestParseTemplateRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no resources":   "Parameters: {}",
		"untyped":        "Resources:\n  X:\n    Properties: {}",
		"bad json":       `{"Resources": `,
		"statement form": "Resources:\n  P:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyDocument:\n        Statement: [{Effect: Allow, Action: '*'}]",
	} {
		t.Run(name, func(t *testing.T) {
			tpl, err := ParseTemplate([]byte(in))
			if err == nil {
				_, err = tpl.Statements()
			}
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		})
	}
}

func TestMatchEvent(t *testing.T) {
	pattern := map[string]any{
		"source":      []any{"aws.codepipeline"},
		"detail-type": []any{"CodePipeline Action Execution State Change"},
		"detail": map[string]any{
			"state":    []any{"STARTED"},
			"type":     map[string]any{"category": []any{"Approval"}},
			"pipeline": []any{"app-dev", "app-prod"},
		},
	}
	event := func(mut func(d map[string]any)) map[string]any {
		d := map[string]any{
			"pipeline": "app-dev", "execution-id": "e1", "stage": "ApproveChangeSet", "action": "ChecklistApproval",
			"state": "STARTED", "region": "us-east-1", "version": 3.0,
			"type": map[string]any{"owner": "AWS", "provider": "Manual", "category": "Approval", "version": "1"},
		}
		if mut != nil {
			mut(d)
		}
		return map[string]any{
			"version": "0", "id": "x", "detail-type": "CodePipeline Action Execution State Change",
			"source": "aws.codepipeline", "account": "123456789012", "region": "us-east-1",
			"resources": []any{"arn:aws:codepipeline:us-east-1:123456789012:app-dev"}, "detail": d,
		}
	}
	tests := map[string]struct {
		pattern any
		event   any
		want    bool
		err     bool
	}{
		"approval started":     {pattern, event(nil), true, false},
		"other pipeline":       {pattern, event(func(d map[string]any) { d["pipeline"] = "other" }), false, false},
		"approval succeeded":   {pattern, event(func(d map[string]any) { d["state"] = "SUCCEEDED" }), false, false},
		"build started":        {pattern, event(func(d map[string]any) { d["type"].(map[string]any)["category"] = "Build" }), false, false},
		"no type":              {pattern, event(func(d map[string]any) { delete(d, "type") }), false, false},
		"list field contains":  {map[string]any{"resources": []any{"arn:aws:codepipeline:us-east-1:123456789012:app-dev"}}, event(nil), true, false},
		"number":               {map[string]any{"detail": map[string]any{"version": []any{3}}}, event(nil), true, false},
		"content filter":       {map[string]any{"source": []any{map[string]any{"prefix": "aws."}}}, event(nil), false, true},
		"leaf not a list":      {map[string]any{"source": "aws.codepipeline"}, event(nil), false, true},
		"empty list":           {map[string]any{"source": []any{}}, event(nil), false, true},
		"empty pattern":        {map[string]any{}, event(nil), false, true},
		"object value vs leaf": {map[string]any{"detail": []any{"x"}}, event(nil), false, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MatchEvent(tc.pattern, tc.event)
			if (err != nil) != tc.err {
				t.Fatalf("MatchEvent error = %v, want error %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("MatchEvent = %v, want %v", got, tc.want)
			}
		})
	}
}
