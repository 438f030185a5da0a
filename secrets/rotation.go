package secrets

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
)

var rateExpr = regexp.MustCompile(`^rate\(([1-9][0-9]*) (hours?|days?)\)$`)

func (r *rotationDoc) rules() *smapi.RotationRulesType {
	if r.AfterDays == nil && r.Duration == nil && r.ScheduleExpr == nil {
		return nil
	}
	return &smapi.RotationRulesType{AutomaticallyAfterDays: r.AfterDays, Duration: r.Duration, ScheduleExpression: r.ScheduleExpr}
}

// next is when the schedule next rotates after from; nil for cron()
// schedules, which Berth stores but does not evaluate.
func (r *rotationDoc) next(from time.Time) *time.Time {
	var d time.Duration
	switch {
	case r.AfterDays != nil:
		d = time.Duration(*r.AfterDays) * 24 * time.Hour
	case r.ScheduleExpr != nil:
		m := rateExpr.FindStringSubmatch(*r.ScheduleExpr)
		if m == nil {
			return nil
		}
		n, _ := strconv.Atoi(m[1])
		d = time.Duration(n) * time.Hour
		if m[2][0] == 'd' {
			d *= 24
		}
	default:
		return nil
	}
	t := from.Add(d)
	return &t
}

// RotateSecret configures rotation and starts one. Berth has no Lambda,
// so the rotation function is never invoked: the answer carries the
// version id the function would create (the ClientRequestToken), exactly
// as AWS answers before its function runs, and the secret's value stays
// as it is until a client completes the rotation itself with
// PutSecretValue and UpdateSecretVersionStage.
func (s *Service) RotateSecret(ctx context.Context, in *smapi.RotateSecretInput) (*smapi.RotateSecretOutput, error) {
	if rr := in.RotationRules; rr != nil {
		if rr.AutomaticallyAfterDays != nil && rr.ScheduleExpression != nil {
			return nil, smapi.NewInvalidParameterException("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.")
		}
		if d := rr.AutomaticallyAfterDays; d != nil && (*d < 1 || *d > 1000) {
			return nil, smapi.NewInvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
		}
		if e := rr.ScheduleExpression; e != nil && !rateExpr.MatchString(*e) && !cronExpr.MatchString(*e) {
			return nil, smapi.NewInvalidParameterException("Invalid ScheduleExpression: %s. Use a rate() or cron() expression.", *e)
		}
	}
	if t := in.ClientRequestToken; t != nil && (len(*t) < 32 || len(*t) > 64) {
		return nil, smapi.NewInvalidParameterException("ClientRequestToken must be 32-64 characters long.")
	}
	token := deref(in.ClientRequestToken)
	if token == "" {
		token = newUUID()
	}
	immediately := in.RotateImmediately == nil || *in.RotateImmediately
	out := &smapi.RotateSecretOutput{}
	err := s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		r := d.Rotation
		if r == nil {
			r = &rotationDoc{}
		}
		if in.RotationLambdaARN != nil {
			r.LambdaARN = in.RotationLambdaARN
		}
		if deref(r.LambdaARN) == "" {
			return smapi.NewInvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
		}
		if p, cur := d.versionWithStage(StagePending), d.versionWithStage(StageCurrent); p != nil && p != cur {
			// AWS refuses to start a rotation while another one's
			// AWSPENDING version is still waiting to become current.
			return smapi.NewInvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
		}
		if rr := in.RotationRules; rr != nil {
			r.AfterDays, r.Duration, r.ScheduleExpr = rr.AutomaticallyAfterDays, rr.Duration, rr.ScheduleExpression
		}
		r.Enabled = true
		r.NextRotation = r.next(s.clock())
		d.Rotation = r
		out.ARN, out.Name = ptr(d.ARN), ptr(d.Name)
		if immediately {
			out.VersionId = ptr(token)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var cronExpr = regexp.MustCompile(`^cron\(.+\)$`)

// rotated records a completed rotation: the AWSPENDING version became
// AWSCURRENT (which is how a rotation function finishes), so the secret
// shows LastRotatedDate and its next scheduled rotation counts from now.
func (d *secretDoc) rotated(now time.Time) {
	if d.Rotation == nil {
		return
	}
	d.Rotation.LastRotated = &now
	if d.Rotation.Enabled {
		d.Rotation.NextRotation = d.Rotation.next(now)
	}
}

// CancelRotateSecret turns automatic rotation off. The function and
// schedule stay configured (DescribeSecret still lists them), as in AWS;
// a version a rotation left with AWSPENDING keeps it, and its id is
// answered so the caller can clean it up.
func (s *Service) CancelRotateSecret(ctx context.Context, in *smapi.CancelRotateSecretInput) (*smapi.CancelRotateSecretOutput, error) {
	out := &smapi.CancelRotateSecretOutput{}
	err := s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		if d.Rotation == nil {
			d.Rotation = &rotationDoc{}
		}
		d.Rotation.Enabled = false
		d.Rotation.NextRotation = nil
		out.ARN, out.Name = ptr(d.ARN), ptr(d.Name)
		for _, v := range d.Versions {
			if slices.Contains(v.Stages, StagePending) {
				out.VersionId = ptr(v.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
