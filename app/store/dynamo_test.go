package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynalite is one in-memory DynamoDB (npm dynalite) shared by the package's
// tests; each test gets its own table.
var dynalite struct {
	once     sync.Once
	cmd      *exec.Cmd
	endpoint string
	missing  string // why it cannot run here
	err      error
	tables   atomic.Int64
}

// dynamoClient returns a client for dynalite, starting it on first use. Without
// node or dynalite the test is skipped, unless CI is set.
func dynamoClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	dynalite.once.Do(startDynalite)
	if dynalite.missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s", dynalite.missing)
		}
		t.Skip(dynalite.missing)
	}
	if dynalite.err != nil {
		t.Fatal(dynalite.err)
	}
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCHECKOFFTEST", "checkoff-test-secret", ""),
		BaseEndpoint: aws.String(dynalite.endpoint),
	})
}

func startDynalite() {
	node, err := exec.LookPath("node")
	if err != nil {
		dynalite.missing = "node is not installed"
		return
	}
	root, err := moduleRoot()
	if err != nil {
		dynalite.err = err
		return
	}
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		dynalite.missing = fmt.Sprintf("dynalite is not installed (%v); run npm ci", err)
		return
	}
	// The free port may be taken between probing and node binding it: retry.
	for range 3 {
		dynalite.err = launchDynalite(node, cli)
		if dynalite.err == nil {
			return
		}
	}
}

func launchDynalite(node, cli string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test binary dies
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dynalite: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				ready <- true
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- false // exited before listening
	}()
	select {
	case ok := <-ready:
		if ok {
			dynalite.cmd = cmd
			dynalite.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
			return nil
		}
		cmd.Wait()
		return fmt.Errorf("dynalite exited before listening: %s", stderr.String())
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("dynalite did not listen within 15s: %s", stderr.String())
	}
}

func stopDynalite() {
	if dynalite.cmd != nil {
		dynalite.cmd.Process.Kill()
		dynalite.cmd.Wait()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// createTable creates a table with the production schema (see serverless.yml)
// and waits until it is active. dynalite has no UpdateTimeToLive, and Dynamo
// filters expired items itself, so TTL is not enabled here.
func createTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	ctx := context.Background()
	table := fmt.Sprintf("checkoff-test-%d", dynalite.tables.Add(1))
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", table, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("describe table %s: %v", table, err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return table
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s is still %s", table, out.Table.TableStatus)
		}
	}
}

func newDynamoStore(t *testing.T, now func() time.Time) Store {
	t.Helper()
	client := dynamoClient(t)
	d := NewDynamo(client, createTable(t, client))
	d.now = now
	return d
}

func TestDynamoConformance(t *testing.T) {
	dynamoClient(t) // skip once here rather than in every subtest
	testConformance(t, newDynamoStore)
}

// queryCounter counts Query calls reaching the real client.
type queryCounter struct {
	*dynamodb.Client
	queries atomic.Int32
}

func (c *queryCounter) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.Client.Query(ctx, in, optFns...)
}

func TestDynamoQueryPages(t *testing.T) {
	ctx := context.Background()
	client := dynamoClient(t)
	counter := &queryCounter{Client: client}
	d := NewDynamo(counter, createTable(t, client))
	clock := newTestClock()
	d.now = clock.Now
	d.pageLimit = 2
	var want []Record
	for i := range 7 {
		r := Record{PK: "pr", SK: fmt.Sprintf("item#%d", i), Version: int64(i)}
		if i%3 == 1 { // expired ones are filtered out of pages, leaving some short or empty
			r.Expires = clock.Now().Add(time.Minute)
		} else {
			want = append(want, r)
		}
		if ok, err := d.PutIfAbsent(ctx, r); err != nil || !ok {
			t.Fatalf("PutIfAbsent = %v, %v", ok, err)
		}
	}
	clock.Advance(time.Minute)
	got, err := d.Query(ctx, "pr")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "paged Query", got, want)
	if n := counter.queries.Load(); n < 4 {
		t.Errorf("7 items in pages of 2 took %d Query calls, want at least 4", n)
	}
}

// TestDynamoItemShape pins the stored attributes: serverless.yml and anyone
// reading the table rely on them.
func TestDynamoItemShape(t *testing.T) {
	ctx := context.Background()
	client := dynamoClient(t)
	table := createTable(t, client)
	d := NewDynamo(client, table)
	exp := time.Unix(1_900_000_000, 250_000_000) // rounded up to the next second
	if ok, err := d.PutIfNewer(ctx, Record{PK: "pr#1", SK: "tick#a", Version: 1_700_000_000_123_456_789, Data: []byte{0, 1, 2}, Expires: exp}); err != nil || !ok {
		t.Fatalf("PutIfNewer = %v, %v", ok, err)
	}
	if ok, err := d.PutIfNewer(ctx, Record{PK: "pr#1", SK: "tick#b", Version: 1}); err != nil || !ok {
		t.Fatalf("PutIfNewer = %v, %v", ok, err)
	}
	tests := map[string]map[string]types.AttributeValue{
		"tick#a": {
			"pk":   &types.AttributeValueMemberS{Value: "pr#1"},
			"sk":   &types.AttributeValueMemberS{Value: "tick#a"},
			"v":    &types.AttributeValueMemberN{Value: "1700000000123456789"},
			"data": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
			"ttl":  &types.AttributeValueMemberN{Value: "1900000001"},
		},
		"tick#b": {
			"pk": &types.AttributeValueMemberS{Value: "pr#1"},
			"sk": &types.AttributeValueMemberS{Value: "tick#b"},
			"v":  &types.AttributeValueMemberN{Value: "1"},
		},
	}
	for sk, want := range tests {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: itemKey("pr#1", sk)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describeItem(out.Item), describeItem(want); got != want {
			t.Errorf("item %s:\n got %s\nwant %s", sk, got, want)
		}
	}
	got, err := d.Get(ctx, "pr#1", "tick#a")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(time.Unix(1_900_000_001, 0)) {
		t.Errorf("Expires read back as %v, want it rounded up to the second", got.Expires)
	}
}

// describeItem renders an item canonically for comparison.
func describeItem(item map[string]types.AttributeValue) string {
	var parts []string
	for _, name := range []string{"pk", "sk", "v", "data", "ttl"} {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			parts = append(parts, fmt.Sprintf("%s:S=%s", name, v.Value))
		case *types.AttributeValueMemberN:
			parts = append(parts, fmt.Sprintf("%s:N=%s", name, v.Value))
		case *types.AttributeValueMemberB:
			parts = append(parts, fmt.Sprintf("%s:B=%x", name, v.Value))
		default:
			parts = append(parts, fmt.Sprintf("%s:%T", name, v))
		}
	}
	if len(parts) != len(item) {
		parts = append(parts, fmt.Sprintf("(%d attributes)", len(item)))
	}
	return strings.Join(parts, " ")
}

// Items this package did not write fail loudly instead of reading as empty.
func TestDynamoForeignItems(t *testing.T) {
	ctx := context.Background()
	client := dynamoClient(t)
	table := createTable(t, client)
	d := NewDynamo(client, table)
	tests := map[string]struct {
		extra   map[string]types.AttributeValue
		wantErr string
	}{
		"no version":     {extra: nil, wantErr: `no number "v"`},
		"string version": {extra: map[string]types.AttributeValue{"v": &types.AttributeValueMemberS{Value: "1"}}, wantErr: `no number "v"`},
		"fractional":     {extra: map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "1.5"}}, wantErr: `"v": strconv.ParseInt`},
		"string data":    {extra: map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "1"}, "data": &types.AttributeValueMemberS{Value: "x"}}, wantErr: `"data" is not binary`},
		"string ttl":     {extra: map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "1"}, "ttl": &types.AttributeValueMemberS{Value: "1"}}, wantErr: `"ttl" is not a number`},
		"huge ttl":       {extra: map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "1"}, "ttl": &types.AttributeValueMemberN{Value: "1e30"}}, wantErr: `"ttl": strconv.ParseInt`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			item := itemKey(name, "sk")
			for k, v := range tc.extra {
				item[k] = v
			}
			if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatal(err)
			}
			_, err := d.Get(ctx, name, "sk")
			if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Get: %v, want an error containing %q", err, tc.wantErr)
			}
			// The server-side filter may drop an item whose ttl is not a
			// number; either way Query must not return it.
			recs, err := d.Query(ctx, name)
			if len(recs) != 0 || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) || (err == nil && name != "string ttl") {
				t.Errorf("Query = %v, %v; want no records and an error containing %q", recs, err, tc.wantErr)
			}
		})
	}
}

func TestDynamoMissingTable(t *testing.T) {
	d := NewDynamo(dynamoClient(t), "no-such-table")
	var notFound *types.ResourceNotFoundException
	_, err := d.PutIfNewer(context.Background(), Record{PK: "pk", SK: "sk", Version: 1})
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "no-such-table") {
		t.Errorf("PutIfNewer into a missing table: %v, want ResourceNotFoundException naming it", err)
	}
	if _, err := d.Get(context.Background(), "pk", "sk"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get from a missing table: %v, want an error other than ErrNotFound", err)
	}
}

func TestDynamoHistory(t *testing.T) {
	dynamoClient(t)
	testHistory(t, func(t *testing.T, now func() time.Time) historyStore {
		return newDynamoStore(t, now).(*Dynamo)
	})
}

// A process that died between a ledger record's put and its history's
// leaves the delivery unmarked; the retry's put is refused as not newer,
// and writes the missing history then.
func TestDynamoHistoryRepair(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	d := newDynamoStore(t, clock.Now).(*Dynamo)
	rec := Record{PK: "ticks#id:5#6", SK: "item:a", Version: 10, Data: []byte(`{"checked":true}`)}
	// The record alone, as the dead process left it.
	if _, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.table), Item: encodeItem(rec)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	retry := WithDelivery(ctx, "delivery-9")
	for range 2 { // and a second retry adds nothing
		if ok, err := d.PutIfNewer(retry, rec); err != nil || ok {
			t.Fatalf("retried PutIfNewer = %v, %v; want no write", ok, err)
		}
	}
	// A refused write of other content is not history.
	if ok, err := d.PutIfNewer(ctx, Record{PK: rec.PK, SK: rec.SK, Version: 10, Data: []byte("other")}); err != nil || ok {
		t.Fatalf("PutIfNewer of another record at the same version = %v, %v", ok, err)
	}
	h, err := d.History(ctx, rec.PK)
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, h, []HistoryEntry{{Record: rec, Written: clock.Now(), Delivery: "delivery-9"}})
}
