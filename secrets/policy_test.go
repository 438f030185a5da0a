package secrets

import "testing"

func TestValidPolicyGrammar(t *testing.T) {
	for _, tc := range []struct {
		policy string
		ok     bool
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`, true},
		{`{"Statement":{"Effect":"Deny","NotAction":"secretsmanager:DeleteSecret","Resource":"*"}}`, true},
		{`not json`, false},
		{`{"Version":"2012-10-17"}`, false},
		{`{"Version":"2012-10-17","Statement":[]}`, false},
		{`{"Statement":[{"Action":"secretsmanager:*","Resource":"*"}]}`, false},
		{`{"Statement":[{"Effect":"Maybe","Action":"secretsmanager:*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Action":"a","NotAction":"b"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Action":"a","Unknown":"*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Action":"a"}],"Extra":1}`, false},
		{`{"Statement":["Allow"]}`, false},
	} {
		err := validPolicy(tc.policy)
		if (err == nil) != tc.ok {
			t.Errorf("validPolicy(%s) = %v, want ok=%v", tc.policy, err, tc.ok)
		}
	}
}

func TestDescriptionWordsNeedEveryWord(t *testing.T) {
	for _, tc := range []struct {
		desc, value string
		want        bool
	}{
		{"one two", "one two", true},
		{"One and two", "one two", true},
		{"one", "one two", false},
		{"two", "one two", false},
		{"the database password", "data", true},
		{"", "x", false},
	} {
		if got := allWordsMatch(tc.desc, tc.value); got != tc.want {
			t.Errorf("allWordsMatch(%q, %q) = %v, want %v", tc.desc, tc.value, got, tc.want)
		}
	}
}
