package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

var sendSpec = spec{
	name:    "send",
	summary: "sign a webhook payload file like GitHub does and post it to a server",
	usage:   "checkoff send [--url URL] [--delivery ID] EVENT FILE|-",
	about: `Signs the payload FILE (or stdin for "-") with the webhook secret and posts it as the
delivery of EVENT (pull_request, pull_request_review, ...): for local trials and the README
walkthrough. Exit status: 0 when the server answers 2xx, 1 otherwise, 2 on usage errors.`,
	env: []string{"GITHUB_WEBHOOK_SECRET"},
}

// runSend signs a payload file like GitHub does and posts it to a
// checkoff server: for local trials and the README walkthrough.
func runSend(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags(sendSpec)
	url := fs.String("url", "http://127.0.0.1:3000/webhook", "webhook `URL`")
	delivery := fs.String("delivery", "", "X-GitHub-Delivery `ID` (default: random)")
	pos, code, done := parse(fs, sendSpec, args, stdout, stderr)
	switch {
	case done:
		return code
	case len(pos) != 2:
		return misuse(stderr, sendSpec, "want EVENT and FILE, got %d arguments", len(pos))
	}
	event, file := pos[0], pos[1]
	var body []byte
	var err error
	if file == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "checkoff send: %v\n", err)
		return exitUsage
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff send: %v\n", err)
		return exitUsage
	}
	secret := cfg.secrets.WebhookSecret
	if secret == "" {
		secret = devSecret
	}
	if *delivery == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		*delivery = hex.EncodeToString(b[:])
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "checkoff send: %v\n", err)
		return exitUsage
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/checkoff-send")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", *delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff send: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%s %s: %s %s\n", event, *delivery, resp.Status, bytes.TrimSpace(reply))
	if resp.StatusCode/100 != 2 {
		return exitFail
	}
	return exitOK
}
