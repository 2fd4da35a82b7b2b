// Package checklist reads the task-list checklists of a pull-request body and
// judges them against a configuration. It is pure: bytes in, values out, no
// I/O and no GitHub types.
//
// Entry points:
//   - Parse turns a Markdown body into a Document (headings, raw-HTML
//     headings and <details> sections, and task items, matching what
//     github.com renders as a checkbox).
//   - ParseConfig decodes .github/checkoff.yml strictly; DefaultConfig is the
//     configuration used when a repository has none.
//   - Evaluate judges a Document against a Config, optionally with Facts
//     about who ticked each box, giving one Result per checklist.
//   - Diff lists the boxes whose state changed between two bodies, for the
//     who-ticked ledger.
//   - CheckTemplate verifies that a PR template carries every configured
//     section and required item, all unticked.
//   - ReservedName and NameKey compare check-run names as a reader sees
//     them (NFKC, invisible characters removed, case folded).
//   - HeadingKey is what headings are compared on (emoji shortcodes and
//     decoration ignored).
//   - MatchPath matches a changed file against a checklist's paths glob.
package checklist
