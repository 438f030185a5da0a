package cloudwatch

import (
	"encoding/json"
	"testing"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
)

// The awsJson encoding matches encoding/json but for whole doubles.
func TestMarshalJSONDoubles(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := &cwapi.GetMetricDataOutput{
		MetricDataResults: []cwapi.MetricDataResult{{Id: ptr("m<1>"), Values: []float64{41, 2.5, 1e21, -3}, Timestamps: []awsapi.Timestamp{{Time: at}}, StatusCode: ptr(cwapi.StatusCodeComplete)}},
		Messages:          []cwapi.MessageData{},
	}
	got, err := MarshalJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	std, _ := json.Marshal(out)
	want := string(std)
	want = replaceOnce(t, want, `[41,2.5,1e+21,-3]`, `[41.0,2.5,1e+21,-3.0]`)
	if string(got) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
	alarm := cwapi.DescribeAlarmsOutput{MetricAlarms: []cwapi.MetricAlarm{{AlarmName: ptr("a"), Threshold: ptr(30.0), EvaluationPeriods: ptr(int32(2))}}}
	got, _ = MarshalJSON(alarm)
	std, _ = json.Marshal(alarm)
	if want := replaceOnce(t, string(std), `"Threshold":30`, `"Threshold":30.0`); string(got) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := -1
	for j := 0; j+len(old) <= len(s); j++ {
		if s[j:j+len(old)] == old {
			if i >= 0 {
				t.Fatalf("%s twice in %s", old, s)
			}
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("%s not in %s", old, s)
	}
	return s[:i] + new + s[i+len(old):]
}
