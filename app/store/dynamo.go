package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Table schema. The production table is declared in serverless.yml with the
// same names: key pk (S, HASH) and sk (S, RANGE), PAY_PER_REQUEST, TTL
// attribute ttl.
const (
	attrPK      = "pk"   // S, partition key
	attrSK      = "sk"   // S, sort key
	attrVersion = "v"    // N, Record.Version
	attrData    = "data" // B, Record.Data; absent when empty
	attrTTL     = "ttl"  // N, Record.Expires in epoch seconds (rounded up); absent when never
)

// Conditions and filters. DynamoDB deletes expired items lazily (often days
// later), so every condition and read treats an item whose ttl has passed as
// absent. ttl is a reserved word, hence #ttl.
const (
	condNewer  = "attribute_not_exists(pk) OR #v < :v OR #ttl <= :now"
	condAbsent = "attribute_not_exists(pk) OR #ttl <= :now"
	filterLive = "attribute_not_exists(#ttl) OR #ttl > :now"
)

// dynamoAPI is the part of the DynamoDB client that Dynamo calls.
type dynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ dynamoAPI = (*dynamodb.Client)(nil)

// Dynamo is the Store backed by a DynamoDB table, used on Lambda. Reads are
// strongly consistent, because a ledger write must be visible to the
// evaluation that follows it. Expires is kept to the second, rounded up.
type Dynamo struct {
	client    dynamoAPI
	table     string
	now       func() time.Time
	pageLimit int32 // Query page size; 0 leaves it to DynamoDB (1 MB pages)
}

var (
	_ Store     = (*Dynamo)(nil)
	_ Historian = (*Dynamo)(nil)
)

// NewDynamo returns a Dynamo storing in table through client, normally a
// *dynamodb.Client.
func NewDynamo(client dynamoAPI, table string) *Dynamo {
	return &Dynamo{client: client, table: table, now: time.Now}
}

// Get returns the live record at (pk, sk), or ErrNotFound.
func (d *Dynamo) Get(ctx context.Context, pk, sk string) (Record, error) {
	if err := checkKey(pk, sk); err != nil {
		return Record{}, err
	}
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            itemKey(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, fmt.Errorf("dynamodb get %s/%s from %s: %w", pk, sk, d.table, err)
	}
	if len(out.Item) == 0 {
		return Record{}, ErrNotFound
	}
	rec, err := decodeItem(out.Item)
	if err != nil {
		return Record{}, fmt.Errorf("dynamodb get %s/%s from %s: %w", pk, sk, d.table, err)
	}
	if !live(rec.Expires, d.now()) {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

// Query returns every live record under pk, ordered by SK, reading all pages.
func (d *Dynamo) Query(ctx context.Context, pk string) ([]Record, error) {
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, err
	}
	now := d.now()
	in := &dynamodb.QueryInput{
		TableName:                aws.String(d.table),
		KeyConditionExpression:   aws.String("pk = :pk"),
		FilterExpression:         aws.String(filterLive),
		ExpressionAttributeNames: map[string]string{"#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: pk},
			":now": epochSeconds(now.Unix()),
		},
		ConsistentRead: aws.Bool(true),
	}
	if d.pageLimit > 0 {
		in.Limit = aws.Int32(d.pageLimit)
	}
	var recs []Record
	for {
		out, err := d.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamodb query %s in %s: %w", pk, d.table, err)
		}
		for _, item := range out.Items {
			rec, err := decodeItem(item)
			if err != nil {
				return nil, fmt.Errorf("dynamodb query %s in %s: %w", pk, d.table, err)
			}
			if live(rec.Expires, now) { // the filter already did this; cheap to be sure
				recs = append(recs, rec)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return recs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PutIfNewer writes rec unless a live item at its key has a version >=
// rec.Version, and reports whether it wrote.
func (d *Dynamo) PutIfNewer(ctx context.Context, rec Record) (bool, error) {
	return d.put(ctx, rec, condNewer, map[string]types.AttributeValue{
		":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.Version, 10)},
	})
}

// maxConcurrentPuts bounds the PutItem calls PutManyIfNewer has in flight;
// a pull request's opening body records a few dozen boxes at most.
const maxConcurrentPuts = 8

// PutManyIfNewer applies PutIfNewer to each of recs with up to
// maxConcurrentPuts calls in flight, and reports per record whether it
// wrote. DynamoDB has no batched conditional put that lets each record's
// condition fail alone (BatchWriteItem takes no conditions, and one failed
// condition cancels a whole TransactWriteItems), so the puts stay single and
// run concurrently: the latency is about one round trip, not one per record.
func (d *Dynamo) PutManyIfNewer(ctx context.Context, recs []Record) ([]bool, error) {
	for _, rec := range recs {
		if err := checkKey(rec.PK, rec.SK); err != nil {
			return nil, err
		}
	}
	wrote := make([]bool, len(recs))
	errs := make([]error, len(recs))
	sem := make(chan struct{}, maxConcurrentPuts)
	var wg sync.WaitGroup
	for i, rec := range recs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			wrote[i], errs[i] = d.PutIfNewer(ctx, rec)
		})
	}
	wg.Wait()
	return wrote, errors.Join(errs...)
}

// PutIfAbsent writes rec unless a live item exists at its key, and reports
// whether it wrote.
func (d *Dynamo) PutIfAbsent(ctx context.Context, rec Record) (bool, error) {
	return d.put(ctx, rec, condAbsent, map[string]types.AttributeValue{})
}

func (d *Dynamo) put(ctx context.Context, rec Record, cond string, values map[string]types.AttributeValue) (bool, error) {
	if err := checkKey(rec.PK, rec.SK); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := d.now()
	values[":now"] = epochSeconds(now.Unix())
	names := map[string]string{"#ttl": attrTTL}
	if cond == condNewer {
		names["#v"] = attrVersion
	}
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      encodeItem(rec),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		if KeepsHistory(rec.PK) {
			return false, d.repairHistory(ctx, rec, now)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("dynamodb put %s/%s in %s: %w", rec.PK, rec.SK, d.table, err)
	}
	if KeepsHistory(rec.PK) {
		if err := d.putHistory(ctx, rec, now, false); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Delete removes the item at (pk, sk); deleting nothing is not an error.
func (d *Dynamo) Delete(ctx context.Context, pk, sk string) error {
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{
		TableName: aws.String(d.table),
		Key:       itemKey(pk, sk),
	}
	if KeepsHistory(pk) {
		in.ReturnValues = types.ReturnValueAllOld
	}
	out, err := d.client.DeleteItem(ctx, in)
	if err != nil {
		return fmt.Errorf("dynamodb delete %s/%s from %s: %w", pk, sk, d.table, err)
	}
	if KeepsHistory(pk) && len(out.Attributes) > 0 {
		return d.putHistory(ctx, Record{PK: pk, SK: sk}, d.now(), true)
	}
	return nil
}

// History is kept as separate items, one per accepted write, in the
// partition "history#<pk>" of the same table:
//
//	sk        "<version>#<hash of the record's SK>", or for a delete
//	          "deleted#<written>#<hash>": a write is recorded once however
//	          often it is retried
//	of        S, the record's SK
//	v, data, ttl as the record's
//	written   N, Unix nanoseconds, by the writer's clock
//	delivery  S, absent when unknown
//	deleted   BOOL, only on deletes
//
// DynamoDB could write record and history atomically with
// TransactWriteItems, at twice the write cost, a new IAM action, and no
// local test double (dynalite has no transactions). Separate items cost one
// more PutItem per accepted ledger write; the gap they leave, a process
// dying between the record's put and its history's, is closed when the
// delivery is retried (it was never marked done): the retried put finds
// the same version already stored and writes the missing history item
// then (repairHistory), stamped with the retry's time.
const (
	historyPKPrefix = HistoryPrefix
	attrOf          = "of"
	attrWritten     = "written"
	attrDelivery    = "delivery"
	attrDeleted     = "deleted"
)

func historySK(sk string, version int64) string {
	h := sha256.Sum256([]byte(sk))
	return fmt.Sprintf("%d#%x", version, h[:12])
}

// putHistory records rec as accepted at now, unless it already is.
func (d *Dynamo) putHistory(ctx context.Context, rec Record, now time.Time, deleted bool) error {
	item := encodeItem(rec)
	item[attrPK] = &types.AttributeValueMemberS{Value: historyPKPrefix + rec.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: historySK(rec.SK, rec.Version)}
	if deleted {
		h := sha256.Sum256([]byte(rec.SK))
		item[attrSK] = &types.AttributeValueMemberS{Value: fmt.Sprintf("deleted#%d#%x", now.UnixNano(), h[:12])}
		item[attrDeleted] = &types.AttributeValueMemberBOOL{Value: true}
	}
	delete(item, attrTTL) // history outlives an expiring record
	item[attrOf] = &types.AttributeValueMemberS{Value: rec.SK}
	item[attrWritten] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixNano(), 10)}
	if id := deliveryOf(ctx); id != "" {
		item[attrDelivery] = &types.AttributeValueMemberS{Value: id}
	}
	// A retry must not fail for want of a context: the record is written.
	_, err := d.client.PutItem(context.WithoutCancel(ctx), &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("dynamodb record history of %s/%s in %s: %w", rec.PK, rec.SK, d.table, err)
	}
	return nil
}

// repairHistory writes the history item of rec when the stored record is
// rec itself: the put was refused because an earlier attempt at the same
// write succeeded, and that attempt may have died before its history.
func (d *Dynamo) repairHistory(ctx context.Context, rec Record, now time.Time) error {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            itemKey(rec.PK, rec.SK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("dynamodb check history of %s/%s in %s: %w", rec.PK, rec.SK, d.table, err)
	}
	if len(out.Item) == 0 {
		return nil
	}
	stored, err := decodeItem(out.Item)
	if err != nil || stored.Version != rec.Version || !bytes.Equal(stored.Data, rec.Data) {
		return nil // another write's record: its own put recorded it
	}
	return d.putHistory(ctx, rec, now, false)
}

// History returns every accepted write to pk, oldest first by the time
// its writer stamped it (Lambdas' clocks agree to well under a second).
// The records of one delivery share a stamp, and their puts run
// concurrently, so entries stamped alike are ordered by SK, then version.
func (d *Dynamo) History(ctx context.Context, pk string) ([]HistoryEntry, error) {
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(d.table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: historyPKPrefix + pk},
		},
		ConsistentRead: aws.Bool(true),
	}
	if d.pageLimit > 0 {
		in.Limit = aws.Int32(d.pageLimit)
	}
	var out []HistoryEntry
	for {
		page, err := d.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamodb history %s in %s: %w", pk, d.table, err)
		}
		for _, item := range page.Items {
			h, err := decodeHistory(pk, item)
			if err != nil {
				return nil, fmt.Errorf("dynamodb history %s in %s: %w", pk, d.table, err)
			}
			out = append(out, h)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	slices.SortStableFunc(out, func(a, b HistoryEntry) int {
		if c := a.Written.Compare(b.Written); c != 0 {
			return c
		}
		if c := strings.Compare(a.SK, b.SK); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	return out, nil
}

func decodeHistory(pk string, item map[string]types.AttributeValue) (HistoryEntry, error) {
	rec, err := decodeItem(item)
	if err != nil {
		return HistoryEntry{}, err
	}
	h := HistoryEntry{Record: rec}
	of, ok := item[attrOf].(*types.AttributeValueMemberS)
	if !ok {
		return HistoryEntry{}, fmt.Errorf("history item %s has no string %q", rec.SK, attrOf)
	}
	w, ok := item[attrWritten].(*types.AttributeValueMemberN)
	if !ok {
		return HistoryEntry{}, fmt.Errorf("history item %s has no number %q", rec.SK, attrWritten)
	}
	n, err := strconv.ParseInt(w.Value, 10, 64)
	if err != nil {
		return HistoryEntry{}, fmt.Errorf("history item %s: %q: %w", rec.SK, attrWritten, err)
	}
	h.PK, h.SK, h.Written = pk, of.Value, time.Unix(0, n)
	if id, ok := item[attrDelivery].(*types.AttributeValueMemberS); ok {
		h.Delivery = id.Value
	}
	if del, ok := item[attrDeleted].(*types.AttributeValueMemberBOOL); ok && del.Value {
		h.Deleted, h.Version = true, 0
	}
	return h, nil
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func epochSeconds(s int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(s, 10)}
}

// ttlSeconds rounds up, so an item never looks expired before rec.Expires.
func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func encodeItem(rec Record) map[string]types.AttributeValue {
	item := itemKey(rec.PK, rec.SK)
	item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.Version, 10)}
	if len(rec.Data) > 0 {
		item[attrData] = &types.AttributeValueMemberB{Value: rec.Data}
	}
	if !rec.Expires.IsZero() {
		item[attrTTL] = epochSeconds(ttlSeconds(rec.Expires))
	}
	return item
}

// decodeItem rejects items that this package did not write, rather than
// guessing at them.
func decodeItem(item map[string]types.AttributeValue) (Record, error) {
	var rec Record
	pk, ok := item[attrPK].(*types.AttributeValueMemberS)
	if !ok {
		return Record{}, fmt.Errorf("item has no string %q", attrPK)
	}
	sk, ok := item[attrSK].(*types.AttributeValueMemberS)
	if !ok {
		return Record{}, fmt.Errorf("item %s has no string %q", pk.Value, attrSK)
	}
	rec.PK, rec.SK = pk.Value, sk.Value
	v, ok := item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return Record{}, fmt.Errorf("item %s/%s has no number %q", rec.PK, rec.SK, attrVersion)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("item %s/%s: %q: %w", rec.PK, rec.SK, attrVersion, err)
	}
	rec.Version = n
	if a, ok := item[attrData]; ok {
		b, ok := a.(*types.AttributeValueMemberB)
		if !ok {
			return Record{}, fmt.Errorf("item %s/%s: %q is not binary", rec.PK, rec.SK, attrData)
		}
		rec.Data = b.Value
	}
	if a, ok := item[attrTTL]; ok {
		t, ok := a.(*types.AttributeValueMemberN)
		if !ok {
			return Record{}, fmt.Errorf("item %s/%s: %q is not a number", rec.PK, rec.SK, attrTTL)
		}
		s, err := strconv.ParseInt(t.Value, 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("item %s/%s: %q: %w", rec.PK, rec.SK, attrTTL, err)
		}
		rec.Expires = time.Unix(s, 0)
	}
	return rec, nil
}
