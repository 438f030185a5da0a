package iam

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

// kindCredentialReport holds an account's last credential report under
// accountDoc.
const kindCredentialReport = "iam.credentialReport"

// reportTTL is how long IAM keeps serving a credential report before
// GenerateCredentialReport makes a new one (and GetCredentialReport
// calls it expired).
const reportTTL = 4 * time.Hour

// credentialReportColumns are the report's columns, in IAM's order.
var credentialReportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
	"password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

type credentialReport struct {
	CSV       string    `json:"csv"`
	Generated time.Time `json:"generated"`
}

func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// keyColumns are the five columns of one access key (or N/A and false
// for a key the user does not have).
func (s *Service) keyColumns(tx store.Tx, id string) ([]string, error) {
	if id == "" {
		return []string{"false", "N/A", "N/A", "N/A", "N/A"}, nil
	}
	var k accessKeyRecord
	found, err := store.LoadDoc(tx, kindAccessKey, "", "", id, &k)
	if err != nil || !found {
		return []string{"false", "N/A", "N/A", "N/A", "N/A"}, err
	}
	out := []string{strconv.FormatBool(k.Status == string(iamapi.StatusTypeActive)), reportTime(k.Created), "N/A", "N/A", "N/A"}
	if u, ok := s.keys.lastUse(id); ok {
		out[2], out[3], out[4] = reportTime(u.at), u.region, u.service
	}
	return out, nil
}

// buildCredentialReport writes the CSV of the account's root and users.
func (s *Service) buildCredentialReport(tx store.Tx, acct string) (string, error) {
	users, err := all[userRecord](tx, kindUser, acct)
	if err != nil {
		return "", err
	}
	a, err := getAccount(tx, acct)
	if err != nil {
		return "", err
	}
	pp, hasPolicy, err := getPasswordPolicy(tx, acct)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(credentialReportColumns)
	row := func(user, arn, created, pwEnabled, pwUsed, pwChanged, pwNext, mfa string, keys, certs []string) error {
		rec := []string{user, arn, created, pwEnabled, pwUsed, pwChanged, pwNext, mfa}
		for i := range 2 {
			id := ""
			if i < len(keys) {
				id = keys[i]
			}
			cols, err := s.keyColumns(tx, id)
			if err != nil {
				return err
			}
			rec = append(rec, cols...)
		}
		rec = append(rec, certs...)
		return w.Write(rec)
	}
	noCerts := []string{"false", "N/A", "false", "N/A"}
	if err := row("<root_account>", policy.RootARN(acct), "N/A", "not_supported", "no_information", "not_supported", "not_supported", "false", a.RootKeys, noCerts); err != nil {
		return "", err
	}
	for _, u := range users {
		pwEnabled, pwUsed, pwChanged, pwNext := "false", "N/A", "N/A", "N/A"
		if u.Login != nil {
			changed := u.Login.Changed
			if changed.IsZero() {
				changed = u.Login.Created
			}
			pwEnabled, pwUsed, pwChanged = "true", "no_information", reportTime(changed)
			if hasPolicy && pp.MaxAge > 0 {
				pwNext = reportTime(changed.Add(time.Duration(pp.MaxAge) * 24 * time.Hour))
			}
		}
		certs := append([]string(nil), noCerts...)
		for i, c := range u.SigningCerts {
			if i < 2 {
				certs[2*i], certs[2*i+1] = strconv.FormatBool(c.Status == string(iamapi.StatusTypeActive)), reportTime(c.Uploaded)
			}
		}
		err := row(u.Name, u.arn(acct), reportTime(u.Created), pwEnabled, pwUsed, pwChanged, pwNext, strconv.FormatBool(len(u.MFA) > 0), u.Keys, certs)
		if err != nil {
			return "", err
		}
	}
	w.Flush()
	return buf.String(), w.Error()
}

// GenerateCredentialReport makes the account's credential report, unless
// one made less than four hours ago is there, as IAM does. Berth makes it
// at once, so GetCredentialReport can fetch it right after.
func (s *Service) GenerateCredentialReport(ctx context.Context, _ *iamapi.GenerateCredentialReportInput) (*iamapi.GenerateCredentialReportOutput, error) {
	acct := account(ctx)
	now := s.clock()
	var fresh bool
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var r credentialReport
		found, err := get(tx, kindCredentialReport, acct, accountDoc, &r)
		if err != nil {
			return err
		}
		if found && now.Sub(r.Generated) < reportTTL {
			fresh = true
			return nil
		}
		content, err := s.buildCredentialReport(tx, acct)
		if err != nil {
			return err
		}
		return put(tx, kindCredentialReport, acct, accountDoc, credentialReport{CSV: content, Generated: now}, now)
	})
	if err != nil {
		return nil, err
	}
	if fresh {
		st := iamapi.ReportStateTypeComplete
		return &iamapi.GenerateCredentialReportOutput{State: &st}, nil
	}
	st := iamapi.ReportStateTypeStarted
	return &iamapi.GenerateCredentialReportOutput{State: &st, Description: str("No report exists. Starting a new report generation task")}, nil
}

// GetCredentialReport returns the account's credential report as CSV.
func (s *Service) GetCredentialReport(ctx context.Context, _ *iamapi.GetCredentialReportInput) (*iamapi.GetCredentialReportOutput, error) {
	acct := account(ctx)
	var r credentialReport
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = get(tx, kindCredentialReport, acct, accountDoc, &r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, iamapi.NewCredentialReportNotPresentException("Credential report does not exist. Use GenerateCredentialReport to generate a credential report.")
	}
	if s.clock().Sub(r.Generated) >= reportTTL {
		return nil, iamapi.NewCredentialReportExpiredException("The credential report is more than 4 hours old. Use GenerateCredentialReport to generate a new one.")
	}
	format := iamapi.ReportFormatTypeTextCsv
	return &iamapi.GetCredentialReportOutput{Content: []byte(r.CSV), ReportFormat: &format, GeneratedTime: awsapi.Time(r.Generated)}, nil
}
