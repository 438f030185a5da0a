package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	sdktypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/awsapi"
)

var created = time.Date(2026, 3, 1, 12, 30, 15, 250e6, time.UTC)

// fakeECR implements two operations; the rest stay unimplemented.
type fakeECR struct {
	UnimplementedService
	got *CreateRepositoryInput
}

func (f *fakeECR) CreateRepository(ctx context.Context, in *CreateRepositoryInput) (*CreateRepositoryOutput, error) {
	f.got = in
	id := awsapi.IdentityFrom(ctx)
	return &CreateRepositoryOutput{Repository: &Repository{
		RepositoryName:     in.RepositoryName,
		RegistryId:         aws.String(id.AccountID),
		CreatedAt:          awsapi.Time(created),
		ImageTagMutability: in.ImageTagMutability,
	}}, nil
}

func (f *fakeECR) DescribeRepositories(context.Context, *DescribeRepositoriesInput) (*DescribeRepositoriesOutput, error) {
	return &DescribeRepositoriesOutput{Repositories: []Repository{}}, nil
}

// call runs one operation as the mux would, returning the JSON it sends.
func call(t *testing.T, s Service, op, body string) (string, error) {
	t.Helper()
	out, err := NewJSONService(s).Operations[op](context.Background(), []byte(body))
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), nil
}

func wantError(t *testing.T, err error, code, message string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil {
		t.Fatalf("got %v, want %s error", err, code)
	}
	if e.Code != code || e.Message != message || e.HTTPStatus != http.StatusBadRequest {
		t.Fatalf("got %d %s %q\nwant 400 %s %q", e.HTTPStatus, e.Code, e.Message, code, message)
	}
}

func TestRoundTripThroughTheSDK(t *testing.T) {
	fake := &fakeECR{}
	mux := awsapi.NewMux(&awsapi.Authenticator{}, nil)
	mux.HandleJSON(NewJSONService(fake))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := sdkecr.New(sdkecr.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "123456789012", SecretAccessKey: "x"}, nil
		})),
	})
	ctx := context.Background()

	out, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{
		RepositoryName:     aws.String("team/app"),
		ImageTagMutability: sdktypes.ImageTagMutabilityImmutable,
		Tags:               []sdktypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Repository.RepositoryName); got != "team/app" {
		t.Errorf("repository name %q", got)
	}
	if got := aws.ToString(out.Repository.RegistryId); got != "123456789012" {
		t.Errorf("registry id %q, want the signing account", got)
	}
	if !out.Repository.CreatedAt.Equal(created) {
		t.Errorf("createdAt %v, want %v", out.Repository.CreatedAt, created)
	}
	if out.Repository.ImageTagMutability != sdktypes.ImageTagMutabilityImmutable {
		t.Errorf("mutability %q", out.Repository.ImageTagMutability)
	}
	if len(fake.got.Tags) != 1 || *fake.got.Tags[0].Key != "env" {
		t.Errorf("service got tags %+v", fake.got.Tags)
	}

	_, err = client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("Team")})
	var invalid *sdktypes.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("bad name: got %v, want InvalidParameterException", err)
	}

	_, err = client.ListImages(ctx, &sdkecr.ListImagesInput{RepositoryName: aws.String("team/app")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "NotImplementedException" {
		t.Fatalf("unimplemented operation: got %v", err)
	}
}

func TestOutputs(t *testing.T) {
	got, err := call(t, &fakeECR{}, "CreateRepository", `{"repositoryName":"app"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"repository":{"registryId":"000000000000","repositoryName":"app","createdAt":1772368215.25}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An empty list is sent as [], not left out: scripts index it.
	if got, _ := call(t, &fakeECR{}, "DescribeRepositories", ""); got != `{"repositories":[]}` {
		t.Errorf("empty list: got %s", got)
	}
}

func TestValidationMessages(t *testing.T) {
	const code = "InvalidParameterException"
	namePattern := `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
	cases := []struct {
		op, body, message string
	}{
		{"CreateRepository", `{}`,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"},
		{"CreateRepository", `{"repositoryName":"Foo"}`,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '" + namePattern + "''"},
		{"CreateRepository", `{"repositoryName":"a"}`,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'"},
		{"CreateRepository", `{"repositoryName":"app","imageTagMutability":"SOMETIMES"}`,
			"Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"},
		{"DescribeRepositories", `{"maxResults":1001}`,
			"Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'"},
		{"BatchGetImage", `{"repositoryName":"app","imageIds":[]}`,
			"Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
		{"BatchGetImage", `{"repositoryName":"app","imageIds":[{"imageTag":"v1"},{"imageTag":""}]}`,
			"Invalid parameter at 'imageIds.2.member.imageTag' failed to satisfy constraint: 'must have length greater than or equal to 1'"},
	}
	for _, c := range cases {
		_, err := call(t, &fakeECR{}, c.op, c.body)
		wantError(t, err, code, c.message)
	}
}

func TestCoralStyleOnTheSameModel(t *testing.T) {
	// ECR words its errors its own way; the generated checks also feed
	// Coral's format, which the other services use.
	in := &BatchGetImageInput{ImageIds: []ImageIdentifier{{ImageTag: aws.String("")}}}
	var vs awsapi.Violations
	in.validate(&vs, "")
	wantError(t, vs.Err("ValidationException", awsapi.CoralStyle), "ValidationException",
		"2 validation errors detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null; "+
			"Value '' at 'imageIds.1.member.imageTag' failed to satisfy constraint: Member must have length greater than or equal to 1")
}

func TestSerializationErrors(t *testing.T) {
	cases := []struct{ body, message string }{
		{`{"repositoryName":"app","foo":1}`, "Unknown member 'foo' in CreateRepositoryInput."},
		{`{"repositoryName":"app","tags":[{"Key":"a","Value":"b","Colour":"red"}]}`, "Unknown member 'tags.1.member.Colour' in CreateRepositoryInput."},
		{`{"repositoryName":5}`, "Value at 'repositoryName' in CreateRepositoryInput must be a string, not a number."},
		{`{"repositoryName":"app","tags":{}}`, "Value at 'tags' in CreateRepositoryInput must be a list, not an object."},
		{`{"repositoryName":"app","imageScanningConfiguration":{"scanOnPush":"yes"}}`,
			"Value at 'imageScanningConfiguration.scanOnPush' in CreateRepositoryInput must be a boolean, not a string."},
		{`[]`, "The request body must be a JSON object for CreateRepositoryInput, not a list."},
	}
	for _, c := range cases {
		_, err := call(t, &fakeECR{}, "CreateRepository", c.body)
		wantError(t, err, awsapi.CodeSerialization, c.message)
	}
	_, err := call(t, &fakeECR{}, "CreateRepository", `{"repositoryName":`)
	if e := awsapi.AsError(err); e == nil || e.Code != awsapi.CodeSerialization || !strings.Contains(e.Message, "not valid JSON") {
		t.Errorf("malformed body: got %v", err)
	}
}

func TestEmptyBodyIsEmptyInput(t *testing.T) {
	if _, err := call(t, &fakeECR{}, "DescribeRepositories", ""); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, &fakeECR{}, "CreateRepository", "")
	wantError(t, err, "InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'")
}

func TestErrorsAndUnimplemented(t *testing.T) {
	e := NewRepositoryNotFoundException("The repository with name '%s' does not exist in the registry with id '%s'", "app", "000000000000")
	if CodeRepositoryNotFoundException != "RepositoryNotFoundException" || e.Code != CodeRepositoryNotFoundException || e.HTTPStatus != 400 {
		t.Errorf("got %+v", e)
	}
	if e := NewServerException("boom"); e.HTTPStatus != 500 {
		t.Errorf("server exception status %d, want 500 (a fault)", e.HTTPStatus)
	}
	_, err := call(t, &fakeECR{}, "ListImages", `{"repositoryName":"app"}`)
	if e := awsapi.AsError(err); e == nil || e.HTTPStatus != 501 || e.Message != "Berth does not implement ECR ListImages yet." {
		t.Errorf("got %v", err)
	}
	if len(NewJSONService(&fakeECR{}).Operations) != len(OperationNames) {
		t.Error("NewJSONService does not serve every operation")
	}
	if p := Paginators["DescribeImages"]; p.LimitKey != "maxResults" || p.InputTokens[0] != "nextToken" {
		t.Errorf("DescribeImages paginator %+v", p)
	}
}
