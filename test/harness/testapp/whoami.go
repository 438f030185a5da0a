package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// whoami is what a program in an ECS task does to learn who it is, with
// nothing but the environment ECS gives it: the SDK's default credential
// chain (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), the endpoint
// (AWS_ENDPOINT_URL) and region from the environment, and the task
// metadata endpoint v4. It prints one line for each:
//
//	whoami arn=<caller ARN> account=<account> userid=<user id> source=<credential source>
//	whoami task=<task ARN> family=<family> revision=<revision> status=<known status>
func whoami() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	failed := false

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "whoami: loading the SDK configuration:", err)
		return 1
	}
	var creds aws.Credentials
	var id *sts.GetCallerIdentityOutput
	for attempt := 1; ; attempt++ {
		creds, err = cfg.Credentials.Retrieve(ctx)
		if err == nil {
			id, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		}
		if err == nil || attempt == 3 {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "whoami: sts GetCallerIdentity:", err)
		failed = true
	} else {
		fmt.Printf("whoami arn=%s account=%s userid=%s source=%s\n",
			aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId), creds.Source)
	}

	if err := printTask(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "whoami: task metadata:", err)
		failed = true
	}
	if failed {
		return 1
	}
	return 0
}

func printTask(ctx context.Context) error {
	base := os.Getenv("ECS_CONTAINER_METADATA_URI_V4")
	if base == "" {
		return fmt.Errorf("ECS_CONTAINER_METADATA_URI_V4 is not set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/task", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/task: %s: %s", base, resp.Status, body)
	}
	var task struct {
		TaskARN, Family, Revision, KnownStatus, Cluster string
	}
	if err := json.Unmarshal(body, &task); err != nil {
		return fmt.Errorf("GET %s/task: %w", base, err)
	}
	fmt.Printf("whoami task=%s family=%s revision=%s status=%s cluster=%s\n", task.TaskARN, task.Family, task.Revision, task.KnownStatus, task.Cluster)
	return nil
}
