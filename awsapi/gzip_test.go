package awsapi

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"
)

// SDKs gzip large awsQuery forms (CloudWatch's PutMetricData); the
// signature covers the compressed bytes.
func TestQueryGzippedForm(t *testing.T) {
	m := testMux(nil, nil)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte("Action=Whoami&Version=2011-06-15&Name=zipped"))
	zw.Close()
	r := httptest.NewRequest(http.MethodPost, "http://localhost:4566/", bytes.NewReader(zipped.Bytes()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("Content-Encoding", "gzip")
	rep := do(t, m, signQuery(t, r, zipped.String(), "111111111111", "x", "", "sts"))
	if rep.status != 200 || rep.result["WhoamiResponse/WhoamiResult/Name"] != "zipped" || rep.result["WhoamiResponse/WhoamiResult/Account"] != "111111111111" {
		t.Fatalf("gzipped form: %d %s", rep.status, rep.body)
	}
}
