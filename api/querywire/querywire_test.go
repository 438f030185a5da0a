package querywire

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

type tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type inner struct {
	Name *string `json:"Name,omitempty"`
	Deep *inner  `json:"Deep,omitempty"`
}

type sample struct {
	Name    *string            `json:"Name,omitempty"`
	Count   *int32             `json:"Count,omitempty"`
	Size    *int64             `json:"Size,omitempty"`
	Ratio   *float64           `json:"Ratio,omitempty"`
	On      *bool              `json:"On,omitempty"`
	Blob    []byte             `json:"Blob,omitzero"`
	When    *awsapi.Timestamp  `json:"When,omitempty"`
	Tags    []tag              `json:"Tags,omitzero"`
	Names   []string           `json:"Names,omitzero"`
	Flat    []string           `json:"Flat,omitzero" query:"flat"`
	Renamed []string           `json:"Renamed,omitzero" query:"flat,member=Item"`
	Wrapped []string           `json:"Wrapped,omitzero" query:"member=item"`
	Attrs   map[string]string  `json:"Attrs,omitzero"`
	FlatMap map[string]string  `json:"FlatMap,omitzero" query:"flat,key=Name,value=Val"`
	Nested  *inner             `json:"Nested,omitempty"`
	Matrix  [][]string         `json:"Matrix,omitzero"`
	Times   []awsapi.Timestamp `json:"Times,omitzero"`
}

func (*sample) Validate() error { return nil }

func decode(t *testing.T, form string) (*sample, error) {
	t.Helper()
	params, err := url.ParseQuery(form)
	if err != nil {
		t.Fatal(err)
	}
	var s sample
	return &s, Decode(params, &s)
}

func TestDecode(t *testing.T) {
	s, err := decode(t, "Action=Op&Version=2010-05-08&Name=n&Count=5&Size=9007199254740993&Ratio=0.5&On=true&Blob=aGk%3D"+
		"&When=2026-03-01T12%3A30%3A15.250Z&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=1"+
		"&Names.member.1=x&Flat.1=f1&Flat.2=f2&Item.1=r1&Wrapped.item.1=w1"+
		"&Attrs.entry.1.key=k&Attrs.entry.1.value=v&FlatMap.1.Name=fk&FlatMap.1.Val=fv"+
		"&Nested.Name=outer&Nested.Deep.Name=deep&Matrix.member.1.member.1=m&Times.member.1=0&Unknown=ignored")
	if err != nil {
		t.Fatal(err)
	}
	if *s.Name != "n" || *s.Count != 5 || *s.Size != 9007199254740993 || *s.Ratio != 0.5 || !*s.On || string(s.Blob) != "hi" {
		t.Errorf("scalars: %+v", s)
	}
	if !s.When.Equal(time.Date(2026, 3, 1, 12, 30, 15, 250e6, time.UTC)) {
		t.Errorf("when %v", s.When)
	}
	if len(s.Tags) != 2 || *s.Tags[0].Key != "a" || *s.Tags[0].Value != "1" || *s.Tags[1].Key != "b" || s.Tags[1].Value != nil {
		t.Errorf("tags %+v", s.Tags)
	}
	if strings.Join(s.Names, ",") != "x" || strings.Join(s.Flat, ",") != "f1,f2" || strings.Join(s.Renamed, ",") != "r1" || strings.Join(s.Wrapped, ",") != "w1" {
		t.Errorf("lists %q %q %q %q", s.Names, s.Flat, s.Renamed, s.Wrapped)
	}
	if s.Attrs["k"] != "v" || s.FlatMap["fk"] != "fv" {
		t.Errorf("maps %v %v", s.Attrs, s.FlatMap)
	}
	if *s.Nested.Name != "outer" || *s.Nested.Deep.Name != "deep" || s.Matrix[0][0] != "m" || s.Times[0].Unix() != 0 {
		t.Errorf("nested %+v %v %v", s.Nested, s.Matrix, s.Times)
	}
}

func TestDecodeEmptyList(t *testing.T) {
	s, err := decode(t, "Names=&Tags=")
	if err != nil {
		t.Fatal(err)
	}
	if s.Names == nil || len(s.Names) != 0 || s.Tags == nil || len(s.Tags) != 0 {
		t.Errorf("empty lists decoded as %#v %#v", s.Names, s.Tags)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for form, want := range map[string]string{
		"Count=abc":                  "Value for parameter Count is invalid: \"abc\" is not an integer in range.",
		"Count=2147483648":           "Value for parameter Count is invalid: \"2147483648\" is not an integer in range.",
		"On=yes":                     "Value for parameter On is invalid: \"yes\" is not a boolean (true or false).",
		"When=yesterday":             "Value for parameter When is invalid: \"yesterday\" is not an ISO 8601 timestamp.",
		"Blob=***":                   "Value for parameter Blob is invalid: it is not valid base64.",
		"Names.member.x=1":           "Value for parameter Names.member.x is invalid: list and map indexes are 1, 2, ....",
		"Names=abc":                  "Value for parameter Names is invalid: a list is expected, not a value.",
		"Attrs.entry.1.value=v":      "Value for parameter Attrs.entry.1 is invalid: the entry has no key.",
		"Name.sub=x":                 "Value for parameter Name is invalid: a value is expected, not nested parameters.",
		"Tags.member.1.Key.deeper=x": "Value for parameter Tags.member.1.Key is invalid: a value is expected, not nested parameters.",
	} {
		_, err := decode(t, form)
		e := awsapi.AsError(err)
		if e == nil || e.Code != "InvalidParameterValue" || e.Message != want {
			t.Errorf("%s: got %v, want InvalidParameterValue: %s", form, err, want)
		}
	}
}

func TestEncode(t *testing.T) {
	name, on, count := "a<b", false, int32(0)
	out := &sample{
		Name: &name, On: &on, Count: &count, Blob: []byte("hi"),
		When:    awsapi.Time(time.Date(2026, 3, 1, 12, 30, 15, 0, time.UTC)),
		Tags:    []tag{{Key: &name}},
		Names:   []string{},
		Flat:    []string{"f1", "f2"},
		Renamed: []string{"r1"},
		Wrapped: []string{"w1"},
		Attrs:   map[string]string{"b": "2", "a": "1"},
		FlatMap: map[string]string{"k": "v"},
		Matrix:  [][]string{{"m"}},
		Times:   []awsapi.Timestamp{{Time: time.Date(2026, 3, 1, 0, 0, 0, 5e6, time.UTC)}},
	}
	got := string(EncodeResult("OpResult", out))
	want := "<OpResult><Name>a&lt;b</Name><Count>0</Count><On>false</On><Blob>aGk=</Blob><When>2026-03-01T12:30:15Z</When>" +
		"<Tags><member><Key>a&lt;b</Key></member></Tags><Names></Names><Flat>f1</Flat><Flat>f2</Flat><Item>r1</Item>" +
		"<Wrapped><item>w1</item></Wrapped><Attrs><entry><key>a</key><value>1</value></entry><entry><key>b</key><value>2</value></entry></Attrs>" +
		"<FlatMap><Name>k</Name><Val>v</Val></FlatMap><Matrix><member><member>m</member></member></Matrix>" +
		"<Times><member>2026-03-01T00:00:00.005Z</member></Times></OpResult>"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// An encoded output decodes back (the parameter and element names are the
// same) for the shapes both directions share.
func TestOp(t *testing.T) {
	op := Op(func(ctx context.Context, in *sample) (*sample, error) { return in, nil }, "EchoResult")
	got, err := op(context.Background(), url.Values{"Name": {"x"}, "Flat.1": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "<EchoResult><Name>x</Name><Flat>a</Flat></EchoResult>" {
		t.Errorf("got %s", got)
	}
	none := Op(func(ctx context.Context, in *sample) (*sample, error) { return nil, nil }, "")
	if got, err := none(context.Background(), nil); err != nil || got != nil {
		t.Errorf("no-output op: %q %v", got, err)
	}
	empty := Op(func(ctx context.Context, in *sample) (*sample, error) { return nil, nil }, "EmptyResult")
	if got, _ := empty(context.Background(), nil); string(got) != "<EmptyResult></EmptyResult>" {
		t.Errorf("nil output: %q", got)
	}
}
