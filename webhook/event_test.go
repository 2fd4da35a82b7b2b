package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestDecodeAgreesWithEncodingJSON: the intake decodes with json v2 for
// speed (decodePayload); on every webhook fixture it reads exactly what encoding/json
// reads, so the switch changed no handler's input.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, name := range githubtest.Fixtures() {
		body := githubtest.UncheckedPayload(t, name, nil)
		v1 := &envelope{Event: &Event{}}
		if err := json.Unmarshal(body, v1); err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		v2 := &envelope{Event: &Event{}}
		if err := decodePayload(body, v2); err != nil {
			t.Fatalf("%s: json v2: %v", name, err)
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Errorf("%s: decodes differ:\nencoding/json %+v\njson v2       %+v", name, *v1.Event, *v2.Event)
		}
		if (v2.Action == "" && name != "ping") || v2.Sender.Login == "" {
			t.Errorf("%s: decoded no action or sender: %+v", name, *v2.Event)
		}
	}
}
