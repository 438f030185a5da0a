package policy

import (
	"errors"
	"testing"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com","AWS":["111111111111","arn:aws:iam::222222222222:role/ci/deployer"]},"Action":"sts:AssumeRole"}]}`

func TestParseRefusesAsIAM(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		kind Kind
		want string
	}{
		{`{nope`, Trust, "This policy contains invalid Json"},
		{`[]`, Trust, "This policy contains invalid Json"},
		{`{"Version":"2012-10-17"} {}`, Trust, "This policy contains invalid Json"},
		{`{"Version":"2012-10-17"}`, Trust, "Syntax errors in policy."},
		{`{"Version":"2020-01-01","Statement":[]}`, Trust, "The policy failed legacy parsing"},
		{`{"Statement":[],"Extra":1}`, Trust, "Syntax errors in policy."},
		{`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, Trust, "Missing required field Principal"},
		{`{"Statement":{"Principal":"*","Action":"sts:AssumeRole"}}`, Trust, "Missing required field Effect"},
		{`{"Statement":{"Effect":"Maybe","Principal":"*","Action":"sts:AssumeRole"}}`, Trust, "Syntax errors in policy."},
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"AssumeRole"}}`, Trust, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`, Trust, "Has prohibited field Resource"},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}`, Trust, `Invalid principal in policy: "AWS":"bob"`},
		{`{"Statement":{"Effect":"Allow","Principal":"*"}}`, Trust, "Policy statement must contain actions."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}}`, Identity, "Policy document should not specify a principal."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*"}}`, Identity, "Policy statement must contain resources."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}`, Identity, `Resource bucket must be in ARN format or "*".`},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Bogus":1}]}`, Identity, "Syntax errors in policy."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":[]}}`, Identity, "Policy statement must contain resources."},
		{`{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, Identity, "Policy statement must contain actions."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}`, Identity, "Syntax errors in policy."},
		{`{"Statement":{"Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf"}}`, Identity, `Resource sdfsadf must be in ARN format or "*".`},
		{`{"Statement":{"Effect":"Allow","Action":"a a:ListBucket","Resource":"*"}}`, Identity, "Vendor a a is not valid"},
		{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"a:b:c:d:e:f:g:h"}}`, Identity, `Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h".`},
		{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"a:bsdf"}}`, Identity, `Partition "bsdf" is not valid for resource "arn:bsdf:*:*:*:*".`},
		{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws"}}`, Identity, "Resource vendor must be fully qualified and cannot contain regexes."},
		{`{"Statement":{"Effect":"Allow","Resource":"arn:aws:s3::bucket"}}`, Identity, "The policy failed legacy parsing"},
		{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws::::bucket"}}`, Identity, "The policy failed legacy parsing"},
		{`{"Statement":{"Effect":"allow","Action":"s3:ListBucket","Resource":"*"}}`, Identity, "The policy failed legacy parsing"},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"a":"2016-12-13t2:00:00.1999999999+10:59"}}}}`, Identity, "The policy failed legacy parsing"},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"x":{"a":"1"}}}}`, Identity, "Syntax errors in policy."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a":{}}}}}`, Identity, "Syntax errors in policy."},
		{`{"Statement":[{"Sid":"x","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"x","Effect":"Allow"}]}`, Identity, "Statement IDs (SID) in a single policy must be unique."},
	} {
		_, err := Parse(tc.doc, tc.kind)
		var pe *Error
		if !errors.As(err, &pe) || pe.Message != tc.want {
			t.Errorf("%s: got %v, want %q", tc.doc, err, tc.want)
		}
	}
	for _, ok := range []struct {
		doc  string
		kind Kind
	}{
		{trust, Trust},
		{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"NotAction":"iam:*"}}`, Trust},
		{`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"1","Effect":"Allow","Action":["s3:GetObject","s3:List*"],"Resource":["arn:aws:s3:::b/*"],"Condition":{"StringEquals":{"aws:username":"x"}}}]}`, Identity},
		{`{"Statement":{"Effect":"Allow","Action":"iam: odd name ","Resource":["arn:aws:fdsasf","arn:aws:iam:::user/x","arn:aws:iam::123456789012:root","arn:aws:ec2:us-east-1::x"]}}`, Identity},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"x":{},"DateLessThanEquals":{"a":"2016-12-13T21:20:37.593194+00:00","b":"-292275054"}}}}`, Identity},
	} {
		if _, err := Parse(ok.doc, ok.kind); err != nil {
			t.Errorf("%s: %v", ok.doc, err)
		}
	}
}

func TestAllows(t *testing.T) {
	d, err := Parse(trust, Trust)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Caller
		want bool
	}{
		{Caller{Account: "111111111111", ARN: RootARN("111111111111")}, true},
		{Caller{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/any/s"}, true},
		{Caller{Account: "333333333333", ARN: RootARN("333333333333")}, false},
		{Caller{Account: "222222222222", ARN: RootARN("222222222222")}, false},
		{Caller{Account: "222222222222", ARN: "arn:aws:sts::222222222222:assumed-role/deployer/ci-run"}, true},
		{Caller{Account: "222222222222", ARN: "arn:aws:sts::222222222222:assumed-role/other/ci-run"}, false},
		{Caller{Service: "ecs-tasks.amazonaws.com"}, true},
		{Caller{Service: "lambda.amazonaws.com"}, false},
	} {
		if got := d.Allows("sts:AssumeRole", tc.c); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.c, got, tc.want)
		}
	}
	if d.Allows("sts:TagSession", Caller{Account: "111111111111", ARN: RootARN("111111111111")}) {
		t.Error("an action the statement does not name is allowed")
	}

	users, _ := Parse(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:*"},
		{"Effect":"Deny","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/app/blocked"},"Action":"*"}]}`, Trust)
	if !users.Allows("sts:AssumeRole", Caller{Account: "111111111111", ARN: RootARN("111111111111")}) {
		t.Error("a user principal does not match a long-term key of its account")
	}
	if users.Allows("sts:AssumeRole", Caller{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/app/blocked"}) {
		t.Error("Deny did not win")
	}
	anyone, _ := Parse(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`, Trust)
	if !anyone.Allows("sts:AssumeRole", Caller{Account: "999999999999", ARN: RootARN("999999999999")}) || anyone.Allows("sts:AssumeRole", Caller{Service: "ecs-tasks.amazonaws.com"}) {
		t.Error(`{"AWS":"*"} matches every AWS caller and no service`)
	}
}

func TestSize(t *testing.T) {
	if n := Size("{ \"a\" :\n\t\"b c\" }"); n != 10 {
		t.Errorf("Size = %d, want 10 (whitespace does not count)", n)
	}
}
