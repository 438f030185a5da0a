package server

import (
	"context"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/cloudwatch"
)

// envCloudWatchInterval overrides how often CloudWatch evaluates alarms
// (default 10s; tests use 1s).
const envCloudWatchInterval = "BERTH_CLOUDWATCH_INTERVAL"

// wireCloudWatch serves CloudWatch metrics and alarms over the three
// protocols its clients speak: Smithy RPC v2 CBOR (aws-sdk-go-v2, hence
// Terraform), awsJson1_0 (botocore ranks it first: boto3 and aws CLI v1)
// and awsQuery (aws CLI v2 of Debian's age), with the loop that evaluates
// alarms.
func (s *Server) wireCloudWatch() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	interval, err := envDuration(envCloudWatchInterval)
	if err != nil {
		return err
	}
	if interval == 0 {
		interval = cloudwatch.DefaultInterval
	}
	svc, err := cloudwatch.New(cloudwatch.Options{Store: st, Log: s.log.With("component", "cloudwatch")})
	if err != nil {
		return err
	}
	s.cloudwatch = svc
	s.api.HandleQuery(cwapi.NewQueryService(svc))
	j := cwapi.NewJSONService(svc)
	j.ErrorShapes = cwapi.ErrorShapes
	j.Marshal = cloudwatch.MarshalJSON
	s.api.HandleJSON(j)
	s.api.HandleCBOR(cwapi.NewCBORService(svc))
	s.loops = append(s.loops, func(ctx context.Context) { svc.Run(ctx, interval) })
	return nil
}
