// Package sigv4test checks an AWS Signature Version 4 request the way an
// AWS endpoint does, for the fakes of AWS services (pipelinetest, snstest):
// the credential scope must be the fake's, and the signature must verify
// when the request is signed again with the fake's secret.
//
// Entry points: Check, and Retryer for the fakes' clients.
package sigv4test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are what a fake accepts.
type Credentials struct {
	AccessKeyID, SecretAccessKey, Region, Service string
}

var authPattern = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// Check recomputes the SigV4 signature of r (with body) over the headers it
// signed, and returns what an AWS endpoint would refuse (none: it verifies).
func Check(r *http.Request, body []byte, c Credentials) []string {
	m := authPattern.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return []string{fmt.Sprintf("Authorization %q is not a SigV4 header", r.Header.Get("Authorization"))}
	}
	akid, day, region, service, signed, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	var problems []string
	if akid != c.AccessKeyID || region != c.Region || service != c.Service {
		problems = append(problems, fmt.Sprintf("credential scope %s/%s/%s, want %s/%s/%s", akid, region, service, c.AccessKeyID, c.Region, c.Service))
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != day {
		return append(problems, fmt.Sprintf("X-Amz-Date %q does not match the credential date %s", r.Header.Get("X-Amz-Date"), day))
	}
	req, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	req.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host", "content-length", "x-amz-date":
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), c.Service, c.Region, at)
	if err != nil {
		return append(problems, "re-sign: "+err.Error())
	}
	if want := authPattern.FindStringSubmatch(req.Header.Get("Authorization")); want == nil || want[6] != sig || want[5] != signed {
		problems = append(problems, "SigV4 signature does not verify")
	}
	return problems
}

// Retryer is the SDK's standard retryer as the fakes' clients use it: three
// attempts with a millisecond between them, so retries of injected faults
// are quick.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
	})
}
