package appautoscaling

import (
	"encoding/base64"
	"sort"
	"strings"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// targetRecord is a registered scalable target.
type targetRecord struct {
	Namespace  string            `json:"namespace"`
	Dimension  string            `json:"dimension"`
	ResourceID string            `json:"resourceId"`
	Min        int32             `json:"min"`
	Max        int32             `json:"max"`
	RoleARN    string            `json:"roleArn"`
	ARN        string            `json:"arn"`
	Created    time.Time         `json:"created"`
	Suspended  suspended         `json:"suspended"`
	Tags       map[string]string `json:"tags,omitempty"`
	// LastScaleOut and LastScaleIn are when the controller last changed
	// the desired count up or down, for the policies' cooldowns.
	LastScaleOut time.Time `json:"lastScaleOut,omitzero"`
	LastScaleIn  time.Time `json:"lastScaleIn,omitzero"`
	// ScaleOutFrom is the capacity the last scale-out counted from.
	ScaleOutFrom int32 `json:"scaleOutFrom,omitempty"`
}

type suspended struct {
	In        bool `json:"in,omitempty"`
	Out       bool `json:"out,omitempty"`
	Scheduled bool `json:"scheduled,omitempty"`
}

func (t *targetRecord) key() string { return targetKey(t.Namespace, t.Dimension, t.ResourceID) }

func (t *targetRecord) wire() aasapi.ScalableTarget {
	return aasapi.ScalableTarget{
		ServiceNamespace:  ptr(aasapi.ServiceNamespace(t.Namespace)),
		ResourceId:        ptr(t.ResourceID),
		ScalableDimension: ptr(aasapi.ScalableDimension(t.Dimension)),
		MinCapacity:       ptr(t.Min),
		MaxCapacity:       ptr(t.Max),
		RoleARN:           ptr(t.RoleARN),
		CreationTime:      awsapi.Time(t.Created),
		ScalableTargetARN: ptr(t.ARN),
		SuspendedState: &aasapi.SuspendedState{
			DynamicScalingInSuspended:  ptr(t.Suspended.In),
			DynamicScalingOutSuspended: ptr(t.Suspended.Out),
			ScheduledScalingSuspended:  ptr(t.Suspended.Scheduled),
		},
	}
}

// policyRecord is a scaling policy: the wire shape as described, plus the
// alarm id its notional alarms are named after.
type policyRecord struct {
	Policy  aasapi.ScalingPolicy `json:"policy"`
	AlarmID string               `json:"alarmId"`
}

// scheduledRecord is a scheduled action and when the controller last
// looked at its schedule, so each occurrence fires once.
type scheduledRecord struct {
	Action  aasapi.ScheduledAction `json:"action"`
	Checked time.Time              `json:"checked"`
}

// activityRecord is one scaling activity.
type activityRecord struct {
	Activity aasapi.ScalingActivity `json:"activity"`
	Scaled   bool                   `json:"scaled"`
}

// activityID orders a target's activities newest first within its prefix.
func activityID(key string, at time.Time, id string) string {
	inv := uint64(1<<63-1) - uint64(at.UnixNano())
	return key + "|" + strings.Repeat("0", 20-len(uitoa(inv))) + uitoa(inv) + "|" + id
}

func uitoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func indexID(c caller, key string) string { return c.Account + "|" + c.Region + "|" + key }

// loadTarget reads a target; nil when there is none.
func loadTarget(tx store.ResourceTx, c caller, key string) (*targetRecord, error) {
	return store.GetDoc[targetRecord](tx, KindTarget, c.Account, c.Region, key)
}

func putTarget(tx store.ResourceTx, c caller, t *targetRecord, now time.Time) error {
	if err := store.PutDoc(tx, KindTarget, c.Account, c.Region, t.key(), t, now); err != nil {
		return err
	}
	return store.PutDoc(tx, KindIndex, "", "", indexID(c, t.key()), struct{}{}, now)
}

// deleteTarget removes a target with its policies, scheduled actions and
// (as AWS forgets them with the target) activities.
func deleteTarget(tx store.ResourceTx, c caller, key string) error {
	for _, kind := range []string{KindPolicy, KindScheduled, KindActivity} {
		_, ids, err := store.AllDocs[struct{}](tx, kind, c.Account, c.Region, key+"|", store.Page{})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := store.DeleteDoc(tx, kind, c.Account, c.Region, id); err != nil {
				return err
			}
		}
	}
	if err := store.DeleteDoc(tx, KindTarget, c.Account, c.Region, key); err != nil {
		return err
	}
	return store.DeleteDoc(tx, KindIndex, "", "", indexID(c, key))
}

// maxResults is a Describe call's page size: AWS's default and maximum is 50.
func maxResults(v *int32) int {
	if v == nil || *v <= 0 || *v > 50 {
		return 50
	}
	return int(*v)
}

// listPage reads one page of a kind's records under prefix straight from
// the store, in id order, after the token's id, keeping those keep accepts;
// the next token names the last record returned.
func listPage[T any](tx store.ResourceTx, kind string, c caller, prefix string, token *string, limit int, keep func(*T) bool) ([]T, *string, error) {
	after := ""
	if t := deref(token); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !strings.HasPrefix(string(raw), prefix) {
			return nil, nil, aasapi.NewInvalidNextTokenException("The NextToken is not valid.")
		}
		after = string(raw)
	}
	var out []T
	var last string
	more := false
	err := store.ListDocs(tx, kind, c.Account, c.Region, prefix, after, func(id string, v *T) (bool, error) {
		if !keep(v) {
			return true, nil
		}
		if len(out) == limit {
			more = true
			return false, nil
		}
		out, last = append(out, *v), id
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var next *string
	if more {
		next = ptr(base64.RawURLEncoding.EncodeToString([]byte(last)))
	}
	return out, next, nil
}

// page cuts items (sorted by keys) to one page after the token, returning
// the token of the next page.
func page[T any](items []T, keys []string, token *string, limit int) ([]T, *string, error) {
	start := 0
	if t := deref(token); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, nil, aasapi.NewInvalidNextTokenException("The NextToken is not valid.")
		}
		after := string(raw)
		start = sort.SearchStrings(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := min(start+limit, len(items))
	var next *string
	if end < len(items) {
		next = ptr(base64.RawURLEncoding.EncodeToString([]byte(keys[end-1])))
	}
	return items[start:end], next, nil
}
