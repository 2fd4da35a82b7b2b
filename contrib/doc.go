// Package contrib is the kit adopters copy into their repositories and AWS
// accounts; it holds no Go code of its own. Its tests load every file and
// check what would otherwise only fail in production:
//   - .github/pull_request_template.md passes checklist.CheckTemplate (what
//     `checkoff check --template` runs), and becomes complete once ticked;
//   - checkoff.yml is a valid .github/checkoff.yml showing every key;
//   - releases.yml is a valid release config;
//   - pipeline.yml has the approval action releases.yml names, an
//     EventBridge rule that matches approval-started events, and IAM
//     without wildcard actions or unscoped resources;
//   - buildspec-dev.yml and buildspec-prod.yml run the unit tests before
//     packaging, and fail the build when serverless fails behind `| tee`;
//   - CONTRIBUTING.md describes the same check lists the template carries.
//
// The project's own .github/pull_request_template.md and CONTRIBUTING.md
// are checked the same way.
package contrib
