package checklist

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses realistic pull-request bodies of 1, 16 and 64 KiB.
// The targets for parse and evaluate together are 1 ms for 16 KiB and 4 ms
// for 64 KiB; Parse must leave room for Evaluate.
func BenchmarkParse(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"16KB", 16 << 10}, {"64KB", 64 << 10}} {
		body, boxes := realisticBody(size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if doc := Parse(body); len(doc.Items) != boxes {
					b.Fatalf("%d items, want %d", len(doc.Items), boxes)
				}
			}
		})
	}
}

// realisticBody returns a pull-request body of about size bytes, and how
// many checkboxes it holds: a description with the Markdown people write
// (links, code, tables, quotes, details, nested lists, a few boxes of their
// own), repeated to size, then the two checklists of the project's template.
func realisticBody(size int) ([]byte, int) {
	const checklists = `
## Author Checklist

- [x] Do the changes implement the correct feature?
- [x] Did you implement and update your Unit Tests?
- [ ] Does a build from the Cmd Line Pass?
- [x] Has the author tested changes?

## Reviewer Checklist

- [ ] Do the changes implement the correct functionality?
- [ ] Are there a sufficient amount of Unit Tests included?
- [ ] Does the file's code-style and inline comments meet standards?
- [ ] Are the commit messages appropriate?
`
	var b strings.Builder
	b.WriteString("## Description\n\nCloses #1234. Reworks **payment retries** so that a transient `503` from the\n" +
		"gateway no longer fails the order; see the [design doc](https://example.com/docs/retries).\n")
	boxes := 8
	for i := 1; b.Len()+len(checklists) < size; i++ {
		fmt.Fprintf(&b, `
### Change %d: retry policy for _%s_

The policy now backs off exponentially (base 200 ms, cap 30 s) with full jitter.
It reads its limits from the environment &mdash; see below — and logs every retry
at **debug** level with the order ID, the attempt and the delay.

- Moved `+"`RetryPolicy`"+` into `+"`billing/retry.go`"+`
- Added metrics:
  - `+"`retry_attempts_total`"+`, labelled by `+"`reason`"+`
  - `+"`retry_give_up_total`"+`
- [x] Migration %d applied on staging
- [ ] Dashboards updated

`+"```go"+`
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := p.Base << attempt // - [ ] not a box: code
	return min(d, p.Cap)
}
`+"```"+`

| Env | Status | Notes |
| --- | :----: | ----- |
| dev | ✅ | deployed %d |
| staging | ⏳ | - [ ] not a box: table |

> **Note:** requires the feature flag `+"`billing.retry.v2`"+`.

<details>
<summary>Screenshots</summary>

![retry dashboard](https://user-images.githubusercontent.com/1/%d.png)

</details>
`, i, []string{"card", "wallet", "invoice"}[i%3], i, i, i)
		boxes += 2
	}
	b.WriteString(checklists)
	return []byte(b.String()), boxes
}
