package endpoints

import (
	"io"
	"net/http"
	"testing"
)

// The endpoints over loopback HTTP, as a task's SDK calls them: cached
// credentials, and the task metadata (status read, containers listed).
func BenchmarkCredentials(b *testing.B) {
	benchGet(b, func(env map[string]string) (string, string) { return env[EnvFullURI], env[EnvAuthToken] })
}

func BenchmarkTaskMetadata(b *testing.B) {
	benchGet(b, func(env map[string]string) (string, string) { return env[EnvMetadataV4] + "/task", "" })
}

func benchGet(b *testing.B, pick func(map[string]string) (string, string)) {
	f := newFixture(b)
	env := f.register(sampleTask(runningStatus))["app"]
	url, auth := pick(env)
	client := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
