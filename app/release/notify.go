package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/checkoff-app/checkoff/app/store"
)

// Notifier tells people that the gate held or rejected a release (an SNS
// topic a team subscribes to). It must be safe for concurrent use.
type Notifier interface {
	Publish(ctx context.Context, subject, message string) error
}

// EnvNotifyTopic names the SNS topic the gate publishes holds and
// rejections to; empty or unset, it publishes nothing.
const EnvNotifyTopic = "CHECKOFF_NOTIFY_TOPIC_ARN"

// SNSAPI is the one SNS call SNSNotifier makes — the one the deployment's
// IAM policy allows, on the topic only. *sns.Client satisfies it.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// SNSNotifier publishes to one standard SNS topic.
type SNSNotifier struct {
	api   SNSAPI
	topic string
}

var _ Notifier = (*SNSNotifier)(nil)

// topicARNPattern is a standard topic's ARN. FIFO topics (.fifo) need a
// message group the gate has no use for: refused.
var topicARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)

// TopicRegion returns the region of a standard SNS topic's ARN, or an
// error for anything else: the SNS client must be in the topic's region.
func TopicRegion(topicARN string) (string, error) {
	m := topicARNPattern.FindStringSubmatch(topicARN)
	if m == nil {
		return "", fmt.Errorf("%s %q is not the ARN of a standard SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME)", EnvNotifyTopic, topicARN)
	}
	return m[1], nil
}

// NewSNSNotifier returns a notifier publishing to topicARN through api,
// which must be a client for the topic's region (see TopicRegion).
func NewSNSNotifier(api SNSAPI, topicARN string) (*SNSNotifier, error) {
	if api == nil {
		return nil, errors.New("sns notifier: an SNS client is required")
	}
	if _, err := TopicRegion(topicARN); err != nil {
		return nil, fmt.Errorf("sns notifier: %w", err)
	}
	return &SNSNotifier{api: api, topic: topicARN}, nil
}

// SNS's limits on Publish: an email subject under 100 characters without
// line breaks or control characters, a message of at most 256 KiB.
const (
	maxSNSSubject = 99
	maxSNSMessage = 256 * 1024
)

// Publish sends message to the topic, with subject as its email subject.
// Both are cut to SNS's limits; the subject loses control characters.
func (n *SNSNotifier) Publish(ctx context.Context, subject, message string) error {
	subject = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, subject)
	if utf8.RuneCountInString(subject) > maxSNSSubject {
		subject = string([]rune(subject)[:maxSNSSubject-1]) + "…"
	}
	if subject == "" {
		subject = "checkoff"
	}
	if message == "" {
		message = subject // SNS refuses an empty message
	}
	_, err := n.api.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(n.topic), Subject: aws.String(subject), Message: aws.String(cutBytes(message, maxSNSMessage)),
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", n.topic, err)
	}
	return nil
}

// cutBytes cuts s to at most limit bytes at a rune boundary, marking the cut.
func cutBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ell = "…"
	cut := limit - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// notifyPK is the partition of the notifications sent about one
// execution's approval (one per execution: see checkPK).
func notifyPK(pipeline, execID string) string { return "release-notify#" + pipeline + "@" + execID }

// notifyKeys say what a notification is about, one key per cause: the
// decision with each PR that holds the release, each direct push, or the
// range being too long. A notification is sent when a cause is new for the
// execution: another PR holding it, or a rejection after a hold, is news;
// a box ticked, or a PR completed, while others still hold it is not.
func notifyKeys(d Decision, c *checkResult) []string {
	var causes []string
	if c.TooMany > 0 {
		causes = append(causes, "toomany")
	}
	for _, sha := range c.Direct {
		causes = append(causes, "direct="+sha)
	}
	for _, p := range c.incomplete() {
		causes = append(causes, fmt.Sprintf("pr=%s/%s#%d", strings.ToLower(p.Owner), strings.ToLower(p.Repo), p.Number))
	}
	if len(causes) == 0 {
		causes = append(causes, "other")
	}
	keys := make([]string, len(causes))
	for i, cause := range causes {
		sum := sha256.Sum256([]byte(string(d) + "\n" + cause))
		keys[i] = hex.EncodeToString(sum[:12])
	}
	return keys
}

// notify publishes a hold or rejection of out's execution when one of its
// causes (notifyKeys) is new, once across processes: a store record per
// cause is claimed first, and the claims are given back when the publish
// fails so that a later reconcile sends it. Best effort: failures are
// logged, and never change the decision.
func (g *Gate) notify(ctx context.Context, rel Release, out Outcome, c *checkResult) {
	if g.notifier == nil || out.ExecutionID == "" {
		return
	}
	pk := notifyPK(rel.Pipeline, out.ExecutionID)
	var claimed []string
	for _, sk := range notifyKeys(out.Decision, c) {
		ok, err := g.st.PutIfAbsent(ctx, store.Record{PK: pk, SK: sk, Version: 1, Data: []byte(`{}`), Expires: g.now().Add(commitCacheTTL)})
		if err != nil {
			g.log.WarnContext(ctx, "release gate: notification claim", "pipeline", rel.Pipeline, "execution", out.ExecutionID, "err", err)
			break // publish what was claimed; an unclaimed cause is retried by a later reconcile
		}
		if ok {
			claimed = append(claimed, sk)
		}
	}
	if len(claimed) == 0 {
		return
	}
	subject, message := notification(rel, out, c)
	if err := g.notifier.Publish(ctx, subject, message); err != nil {
		g.log.WarnContext(ctx, "release gate: notification", "pipeline", rel.Pipeline, "execution", out.ExecutionID, "err", err)
		for _, sk := range claimed {
			if derr := g.st.Delete(ctx, pk, sk); derr != nil {
				g.log.WarnContext(ctx, "release gate: give back notification claim", "pipeline", rel.Pipeline, "execution", out.ExecutionID, "err", derr)
			}
		}
	}
}

// notification is the subject and plain-text body of a notification: the
// summary CodePipeline gets, then, for each PR that holds the release,
// what its hold comment says. Box texts are shown as written, on one line
// each; a plain-text email renders no markup.
func notification(rel Release, out Outcome, c *checkResult) (subject, message string) {
	verb := "held"
	if out.Decision == Rejected {
		verb = "rejected"
	}
	subject = fmt.Sprintf("checkoff %s release %s of %s", verb, short(out.Revision), rel.Pipeline)
	var b strings.Builder
	b.WriteString(out.Reason + "\n\n")
	deployed := "nothing yet"
	if out.Deployed != "" {
		deployed = out.Deployed
	}
	fmt.Fprintf(&b, "Pipeline: %s, stage %s, execution %s\nRepository: %s, branch %s\nRevision: %s\nDeployed: %s\n",
		rel.Pipeline, rel.Stage, out.ExecutionID, rel.Repo, rel.Branch, out.Revision, deployed)
	for _, p := range c.incomplete() {
		fmt.Fprintf(&b, "\n%s/%s#%d ", p.Owner, p.Repo, p.Number)
		if p.Problem != "" {
			fmt.Fprintf(&b, "holds the release: %s\n", p.Problem)
			continue
		}
		fmt.Fprintf(&b, "holds the release of %s. These boxes are not checked off:\n", rel.Branch)
		for _, h := range p.Verdict.Holding {
			b.WriteString("- " + plainItem(h) + "\n")
		}
		if len(p.Verdict.Holding) == 0 {
			b.WriteString("- the checklists are incomplete\n")
		}
		b.WriteString("Once they are ticked (reviewer items by a reviewer with write access), checkoff approves the release.\n")
	}
	return subject, b.String()
}

// plainItem is a box's text for a plain-text message: one line, at most
// maxItemText characters.
func plainItem(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxItemText {
		s = string([]rune(s)[:maxItemText-1]) + "…"
	}
	return s
}
