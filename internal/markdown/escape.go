// Package markdown escapes text from pull requests for what checkoff posts
// back to GitHub: check-run summaries, the release gate's check and its
// hold comment. One rule for all of them, so text that is inert in one is
// inert in every other.
//
// Entry point: Escape.
package markdown

import "strings"

// Escape keeps text from a PR body from becoming markup (or mentions) in
// GitHub-flavoured Markdown. "&" is escaped so that an entity in the text
// (&commat;) cannot render as a character the escaping removed; "~" so that
// it cannot strike through; "@" gets a zero-width space so that it cannot
// mention; "<" and ">" become entities so that no HTML renders.
func Escape(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~",
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "@", "@\u200b", "#", "\\#")
