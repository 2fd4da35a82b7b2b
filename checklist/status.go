package checklist

import "strconv"

// String returns "missing", "incomplete" or "complete": the words the CLI,
// the JSON output and check-run summaries use.
func (s Status) String() string {
	switch s {
	case Missing:
		return "missing"
	case Incomplete:
		return "incomplete"
	case Complete:
		return "complete"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}
