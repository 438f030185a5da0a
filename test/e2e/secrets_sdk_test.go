// The aws-sdk-go-v2 end-to-end test of Secrets Manager and Parameter Store.
package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berth-dev/berth/test/harness"
)

// TestMain removes what the harness built once the tests are done.

func TestSecretsWithGoSDK(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	bg := context.Background()
	cfg := b.SDKConfig(bg)
	sm := secretsmanager.NewFromConfig(cfg)
	ps := ssm.NewFromConfig(cfg)

	c, err := sm.CreateSecret(bg, &secretsmanager.CreateSecretInput{Name: aws.String("go/db"), SecretString: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(c.ARN), "arn:aws:secretsmanager:us-east-1:000000000000:secret:go/db-") {
		t.Errorf("ARN %s", aws.ToString(c.ARN))
	}
	_, err = sm.CreateSecret(bg, &secretsmanager.CreateSecretInput{Name: aws.String("go/db"), SecretString: aws.String("v1")})
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate CreateSecret: %v, want ResourceExistsException", err)
	}
	if _, err := sm.PutSecretValue(bg, &secretsmanager.PutSecretValueInput{SecretId: c.ARN, SecretString: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	cur, err := sm.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("go/db")})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := sm.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("go/db"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cur.SecretString) != "v2" || aws.ToString(prev.SecretString) != "v1" || cur.CreatedDate == nil {
		t.Errorf("current %+v previous %+v", cur, prev)
	}
	d, err := sm.DescribeSecret(bg, &secretsmanager.DescribeSecretInput{SecretId: aws.String("go/db")})
	if err != nil || len(d.VersionIdsToStages) != 2 || d.CreatedDate == nil {
		t.Errorf("DescribeSecret: %+v, %v", d, err)
	}
	n := 0
	for p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{}); p.HasMorePages(); {
		page, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.SecretList)
	}
	if n != 1 {
		t.Errorf("ListSecrets: %d secrets", n)
	}
	_, err = sm.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("go/none")})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("missing secret: %v, want ResourceNotFoundException", err)
	}
	del, err := sm.DeleteSecret(bg, &secretsmanager.DeleteSecretInput{SecretId: aws.String("go/db"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || del.DeletionDate == nil {
		t.Fatalf("DeleteSecret: %+v, %v", del, err)
	}
	_, err = sm.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("go/db")})
	var invalid *smtypes.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Errorf("deleted secret: %v, want InvalidRequestException", err)
	}

	if _, err := ps.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/go/a"), Value: aws.String("1"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	_, err = ps.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/go/a"), Value: aws.String("2"), Type: ssmtypes.ParameterTypeSecureString})
	var already *ssmtypes.ParameterAlreadyExists
	if !errors.As(err, &already) {
		t.Errorf("duplicate PutParameter: %v, want ParameterAlreadyExists", err)
	}
	if _, err := ps.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/go/a"), Value: aws.String("2"), Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	g, err := ps.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/go/a"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(g.Parameter.Value) != "2" || g.Parameter.Version != 2 || g.Parameter.LastModifiedDate == nil {
		t.Errorf("GetParameter: %+v, %v", g, err)
	}
	for i := range 15 {
		if _, err := ps.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/go/tree/" + string(rune('a'+i))), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	n = 0
	for p := ssm.NewGetParametersByPathPaginator(ps, &ssm.GetParametersByPathInput{Path: aws.String("/go"), Recursive: aws.Bool(true)}); p.HasMorePages(); {
		page, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Parameters)
	}
	if n != 16 {
		t.Errorf("GetParametersByPath: %d parameters, want 16", n)
	}
	_, err = ps.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/go/none")})
	var pnf *ssmtypes.ParameterNotFound
	if !errors.As(err, &pnf) {
		t.Errorf("missing parameter: %v, want ParameterNotFound", err)
	}
	_, err = ps.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/go/bad name"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("bad name: %v, want ValidationException", err)
	}
}
