package store

// Every partition-key prefix checkoff stores under, in one place. A
// partition is one Query; the File and SQLite stores keep one per
// partition, DynamoDB one item collection.
//
//	prefix            what lives there                                 written by      expires
//	ticks#            a pull request's ledger: ticks, waivers, pushes,  app             never
//	                  pushers, newest state, dismissed reviews, head
//	                  facts, file lists (sort keys in app/ledger.go)
//	verdict#          the verdict on the PR merged as a commit          app             never
//	delivery#         a handled webhook delivery (by ID or body hash)   app (intake)    7 days
//	sweep#            a redelivered delivery's first attempt            app (sweeper)   2 × MaxAge
//	release-check#    the Release Gate check run on a merge commit      app/release     never
//	release-commit#   commits already attributed on a released branch   app/release     30 days
//	release-direct#   a direct push the gate rejected                   app/release     never
//	release-hold#     a PR's one hold comment                           app/release     never
//	release-notify#   an SNS notice sent for an execution               app/release     30 days
//	history#          DynamoDB only: the append-only history of the     app/store       never
//	                  ticks# and verdict# partitions
const (
	LedgerPrefix        = "ticks#"
	VerdictPrefix       = "verdict#"
	DeliveryPrefix      = "delivery#"
	SweepPrefix         = "sweep#"
	ReleaseCheckPrefix  = "release-check#"
	ReleaseCommitPrefix = "release-commit#"
	ReleaseDirectPrefix = "release-direct#"
	ReleaseHoldPrefix   = "release-hold#"
	ReleaseNotifyPrefix = "release-notify#"
	HistoryPrefix       = "history#"
)
