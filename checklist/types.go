package checklist

import "time"

// Document is a parsed pull-request body: its top-level headings and every
// task item GitHub would render as a checkbox, both in document order.
type Document struct {
	Headings []Heading
	Items    []Item
}

// PseudoLevel is the level of a bold-only paragraph used as a heading
// ("**Reviewer Checklist**"): lower than any ATX or setext heading.
const PseudoLevel = 7

// DetailsLevel is the level of a <details> block's <summary>, which names
// the section of the boxes inside that <details>. It is lower than any
// other, so that a <details> never ends another heading's section; its own
// section ends at its closing tag (Heading.End).
const DetailsLevel = 8

// Heading is a top-level heading (levels 1–6, ATX, setext or a raw-HTML
// <h1>–<h6> block), a bold-only pseudo-heading (PseudoLevel) or the
// <summary> of a <details> (DetailsLevel). Only top-level blocks are
// headings, except that a <details> counts wherever it stands.
type Heading struct {
	Text  string // inline markup stripped, as displayed
	Key   string // HeadingKey(Text): what checklist headings are compared on
	Level int
	Line  int // 1-based source line
	// End is, for DetailsLevel, the line of the closing </details> (or
	// one past the last line when it is never closed); 0 otherwise.
	End int
}

// Item is one task-list box.
type Item struct {
	Text    string // inline markup stripped, whitespace collapsed
	Checked bool
	Struck  bool // the whole text is struck through (~~…~~)
	Line    int  // 1-based source line of the box
	Depth   int  // 0 for a top-level list item, +1 per enclosing list item
}

// Role says whose tick counts for a checklist.
type Role string

// The roles a checklist may require of the person who ticks its boxes.
const (
	Anyone   Role = "anyone"
	Author   Role = "author"
	Reviewer Role = "reviewer"
)

// Scope says which boxes of the body a checklist owns.
type Scope string

// The scopes of a checklist.
const (
	// SectionScope: the boxes of the sections under the checklist's heading.
	SectionScope Scope = "section"
	// BodyScope: every box of the body outside the other configured
	// checklists' sections. At most one checklist of a config has it.
	BodyScope Scope = "body"
)

// The values of optional_match.
const (
	MatchPrefix   = "prefix"   // a marker makes an item optional only at the start of its text
	MatchAnywhere = "anywhere" // a marker anywhere, as a whole word
)

// DefaultDetailsURL is where a check run's "Details" link points by
// default: the README's account of who may tick what.
const DefaultDetailsURL = "https://github.com/checkoff-app/checkoff#who-ticked"

// Config is the decoded .github/checkoff.yml.
type Config struct {
	Checklists           []Checklist
	Branches             []string // base branches enforced; empty means all
	SkipAuthors          []string
	OptionalMarkers      []string // item text markers that make an item optional
	OptionalMatch        string   // MatchPrefix (default) or MatchAnywhere
	ResetReviewerOnPush  bool
	IncompleteConclusion string // failure | action_required | neutral
	DetailsURL           string // the check runs' details_url (https)
}

// Checklist is one configured checklist; Name is also the check-run name.
type Checklist struct {
	Name            string
	Heading         string // defaults to Name
	TickedBy        Role   // defaults to Anyone
	Items           []string
	AllowExtraItems bool // defaults to true
	// AllowContributors lets people who contributed commits to a pull
	// request tick its reviewer items (allow_contributors); by default
	// only independent reviewers count.
	AllowContributors bool
	// Scope is SectionScope (the default; "" means it too) or BodyScope,
	// which has no Heading.
	Scope Scope
	// Select, when above 0, makes the checklist a pick-N group: exactly
	// Select of its boxes must be ticked (ticks that count), not all.
	Select int
	// Paths, when not empty, are the globs (MatchPath) of the changed
	// files that make the checklist required.
	Paths []string
}

// Status is the outcome of one checklist.
type Status int

// The statuses Evaluate gives a checklist.
const (
	Missing    Status = iota // no section with the checklist's heading
	Incomplete               // present but not fully and validly ticked
	Complete
)

// Facts tells Evaluate who set each box's state. A nil *Facts means no
// attribution: ticks are taken as they stand in the body.
type Facts struct {
	Author string // the PR author's login
	// Authors are more people who count as the author: the assignees of a
	// pull request a bot (a coding agent) opened. Their ticks count for
	// author items, and their reviewer ticks do not.
	Authors []string
	// BotAuthor: the PR was opened by a bot not in skip_authors. A bot
	// never ticks for anyone, so author items wait for an assignee.
	BotAuthor bool
	// Ticks holds, per item key (ItemResult.Key), the latest recorded change.
	Ticks map[string]Tick
	// Waivers holds, per item key, the latest recorded change of the item's
	// optional state (Tick.Checked: made optional). An item the body shows
	// optional is optional only when its waiver was made by someone the
	// checklist's ticked_by admits, as a tick would be.
	Waivers map[string]Tick
	// ResetAt, when set, is the latest push: reviewer ticks and waivers
	// recorded before it do not count (reset_reviewer_on_push).
	ResetAt time.Time
	// ReviewedHeads, when not nil, are the commits an approving review may
	// have reviewed for its ticks to count: the head and the heads it
	// differs from only by GitHub's "Update branch" merges.
	ReviewedHeads map[string]bool
	// Contributors are the lower-case logins of everyone who authored,
	// committed or pushed the pull request's changes (its author included).
	// Their reviewer ticks and waivers do not count unless the checklist
	// allows contributors. Nil means unknown: then, failing closed, no
	// reviewer tick counts unless contributors are allowed.
	Contributors map[string]bool
}

// Tick is the latest recorded change of one box.
type Tick struct {
	Checked  bool
	By       string    // login of whoever made the change
	At       time.Time // the PR's updated_at (or the review's submitted_at)
	CanWrite bool      // By has write, maintain or admin permission
	Bot      bool      // By is a bot account
	Review   bool      // ticked in an approving review body, not the PR body
	Commit   string    // for Review: the commit the review approved
}

// Result is the verdict on one checklist.
type Result struct {
	Checklist Checklist
	Status    Status
	// Heading is the matching heading: nil when Missing, and always for a
	// body checklist, which has none.
	Heading      *Heading
	Items        []ItemResult // every box of the section, document order
	Ticked       int          // counted ticks among non-optional items
	Total        int          // non-optional items
	MissingItems []string     // configured items absent from the section
	ExtraItems   []string     // boxes not in Items when AllowExtraItems is false
	// Select is Checklist.Select: above 0, the checklist is complete when
	// exactly Select boxes are counted (Ticked == Select), not all.
	Select int
}

// ItemResult is one box as judged.
type ItemResult struct {
	Item
	Key      string // stable identity for the ledger: checklist, normalised text, occurrence
	Optional bool
	Counted  bool   // checked, and the tick counts
	By       string // who ticked it, when known
	Reason   string // why a tick does not count, or why an item is unticked; "" when counted
	// WaivedBy is who made the item optional, when recorded; with Optional
	// false it is a waiver that does not count (Reason says why).
	WaivedBy string
}

// Change is one box whose state differs between two bodies.
type Change struct {
	Checklist string // checklist name
	Key       string
	Text      string
	Checked   bool // the new state: ticked, or (Waiver) optional
	// Waiver marks a change of the item's optional state (struck through or
	// an optional marker added or removed) rather than of its box.
	Waiver bool
}
