package ec2wire

import (
	"context"
	"net/url"
	"testing"

	"github.com/berth-dev/berth/awsapi"
)

type pair struct {
	GroupId *string `json:"groupId,omitempty"`
}

type perm struct {
	IpProtocol *string  `json:"ipProtocol,omitempty"`
	FromPort   *int32   `json:"fromPort,omitempty"`
	Groups     []pair   `json:"groups,omitzero" ec2:"member=item"`
	Ranges     []string `json:"ipRanges,omitzero" ec2:"member=item"`
}

type input struct {
	GroupIds []string `json:"GroupId,omitzero" ec2:"member=groupId"`
	DryRun   *bool    `json:"dryRun,omitempty"`
	Odd      *string  `json:"odd,omitempty" ec2:"name=OddName"`
	Perms    []perm   `json:"ipPermissions,omitzero" ec2:"member=item"`
}

func (*input) Validate() error { return nil }

func TestDecode(t *testing.T) {
	params, _ := url.ParseQuery("Action=X&Version=2016-11-15&GroupId.2=b&GroupId.1=a&DryRun=false&OddName=o" +
		"&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.Groups.1.GroupId=sg-1&IpPermissions.1.IpRanges.1=r")
	var in input
	if err := Decode(params, &in); err != nil {
		t.Fatal(err)
	}
	if len(in.GroupIds) != 2 || in.GroupIds[0] != "a" || *in.DryRun || *in.Odd != "o" || len(in.Perms) != 1 ||
		*in.Perms[0].IpProtocol != "tcp" || *in.Perms[0].FromPort != 80 || *in.Perms[0].Groups[0].GroupId != "sg-1" || in.Perms[0].Ranges[0] != "r" {
		t.Errorf("decoded %+v", in)
	}
	for form, code := range map[string]string{
		"DryRun=maybe":                         "InvalidParameterValue",
		"GroupId.x=1":                          "InvalidParameterValue",
		"GroupId=abc":                          "InvalidParameterValue",
		"IpPermissions.1.FromPort=99999999999": "InvalidParameterValue",
	} {
		params, _ := url.ParseQuery(form)
		var in input
		if e := awsapi.AsError(Decode(params, &in)); e == nil || e.Code != code {
			t.Errorf("%s: got %v", form, e)
		}
	}
}

func TestEncode(t *testing.T) {
	tcp, port, id := "tcp", int32(80), "sg-1"
	out := &input{GroupIds: []string{"a<b"}, Perms: []perm{{IpProtocol: &tcp, FromPort: &port, Groups: []pair{{GroupId: &id}}, Ranges: []string{}}}}
	got := string(Encode(out))
	want := "<GroupId><groupId>a&lt;b</groupId></GroupId><ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>80</fromPort>" +
		"<groups><item><groupId>sg-1</groupId></item></groups><ipRanges></ipRanges></item></ipPermissions>"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestOp(t *testing.T) {
	op := Op(func(ctx context.Context, in *input) (*input, error) { return in, nil })
	got, err := op(context.Background(), url.Values{"OddName": {"x"}})
	if err != nil || string(got) != "<odd>x</odd>" {
		t.Errorf("got %q %v", got, err)
	}
}
