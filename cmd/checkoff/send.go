package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// runSend signs a payload file like GitHub does and posts it to a
// checkoff server: for local trials and the README walkthrough.
func runSend(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:3000/webhook", "webhook URL")
	delivery := fs.String("delivery", "", "X-GitHub-Delivery (default: random)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: checkoff send [--url URL] [--delivery ID] EVENT FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return exitUsage
	}
	event, file := fs.Arg(0), fs.Arg(1)
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
	secret := os.Getenv("GITHUB_WEBHOOK_SECRET")
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
