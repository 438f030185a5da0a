package logs

import (
	"context"
	"maps"
	"regexp"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/logs/filter"
	"github.com/berth-dev/berth/store"
)

// Log anomaly detectors are stored records (ids are the detector ids).
// Berth trains no model, so a detector finds no anomaly: ListAnomalies is
// always empty.
const kindAnomalyDetector = "logs.anomaly-detector"

// anomalyDetectorRecord is a detector with its tags.
type anomalyDetectorRecord struct {
	Detector logsapi.AnomalyDetector `json:"detector"`
	Tags     map[string]string       `json:"tags,omitempty"`
}

// Anomaly visibility bounds AWS documents, in days.
const (
	minAnomalyVisibility     = 7
	maxAnomalyVisibility     = 90
	defaultAnomalyVisibility = 21
)

// detectorID resolves an anomaly detector ARN of the caller.
func (c caller) detectorID(arn string) (string, error) {
	prefix := c.logsARN("anomaly-detector", "")
	if !strings.HasPrefix(arn, prefix) || len(arn) == len(prefix) {
		return "", logsapi.NewResourceNotFoundException("The specified anomaly detector %s does not exist.", arn)
	}
	return strings.TrimPrefix(arn, prefix), nil
}

func getDetector(tx store.Tx, c caller, arn string) (anomalyDetectorRecord, string, error) {
	id, err := c.detectorID(arn)
	if err != nil {
		return anomalyDetectorRecord{}, "", err
	}
	d, err := getRecord[anomalyDetectorRecord](tx, c, kindAnomalyDetector, id, "The specified anomaly detector "+arn+" does not exist.")
	return d, id, err
}

func checkAnomalyVisibility(v *int64) error {
	if v != nil && (*v < minAnomalyVisibility || *v > maxAnomalyVisibility) {
		return invalidParam("anomalyVisibilityTime must be between %d and %d days.", minAnomalyVisibility, maxAnomalyVisibility)
	}
	return nil
}

func checkDetectorPattern(p *string) error {
	if p == nil {
		return nil
	}
	if _, err := filter.Parse(*p); err != nil {
		return invalidParam("Invalid filterPattern: %s", *p)
	}
	return nil
}

// CreateLogAnomalyDetector creates an anomaly detector over one log group.
func (s *Service) CreateLogAnomalyDetector(ctx context.Context, in *logsapi.CreateLogAnomalyDetectorInput) (*logsapi.CreateLogAnomalyDetectorOutput, error) {
	c := callerOf(ctx)
	if len(in.LogGroupArnList) != 1 {
		return nil, invalidParam("logGroupArnList must contain exactly one log group ARN.")
	}
	if err := checkAnomalyVisibility(in.AnomalyVisibilityTime); err != nil {
		return nil, err
	}
	if err := checkDetectorPattern(in.FilterPattern); err != nil {
		return nil, err
	}
	if in.KmsKeyId != nil && !kmsKeyRE.MatchString(*in.KmsKeyId) {
		return nil, invalidParam("Invalid kmsKeyId %s: it must be a KMS key ARN.", *in.KmsKeyId)
	}
	id := newID()
	arn := c.logsARN("anomaly-detector", id)
	if err := checkTags(arn, in.Tags); err != nil {
		return nil, err
	}
	now := ms(s.now())
	rec := anomalyDetectorRecord{
		Detector: logsapi.AnomalyDetector{
			AnomalyDetectorArn: ptr(arn), DetectorName: in.DetectorName, LogGroupArnList: in.LogGroupArnList,
			EvaluationFrequency: in.EvaluationFrequency, FilterPattern: in.FilterPattern,
			AnomalyDetectorStatus: ptr(logsapi.AnomalyDetectorStatusInitializing), KmsKeyId: in.KmsKeyId,
			CreationTimeStamp: ptr(now), LastModifiedTimeStamp: ptr(now),
			AnomalyVisibilityTime: ptr(int64(defaultAnomalyVisibility)),
		},
		Tags: maps.Clone(in.Tags),
	}
	if in.AnomalyVisibilityTime != nil {
		rec.Detector.AnomalyVisibilityTime = in.AnomalyVisibilityTime
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		name, err := c.groupOfARN(in.LogGroupArnList[0])
		if err != nil {
			return err
		}
		if _, err := getGroup(tx, c, name); err != nil {
			return err
		}
		return s.putRecord(tx, c, kindAnomalyDetector, id, rec)
	})
	if err != nil {
		return nil, apiErr("CreateLogAnomalyDetector", err)
	}
	return &logsapi.CreateLogAnomalyDetectorOutput{AnomalyDetectorArn: ptr(arn)}, nil
}

// GetLogAnomalyDetector returns a detector.
func (s *Service) GetLogAnomalyDetector(ctx context.Context, in *logsapi.GetLogAnomalyDetectorInput) (*logsapi.GetLogAnomalyDetectorOutput, error) {
	c := callerOf(ctx)
	var rec anomalyDetectorRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, _, err = getDetector(tx, c, *in.AnomalyDetectorArn)
		return err
	})
	if err != nil {
		return nil, apiErr("GetLogAnomalyDetector", err)
	}
	d := rec.Detector
	return &logsapi.GetLogAnomalyDetectorOutput{
		DetectorName: d.DetectorName, LogGroupArnList: d.LogGroupArnList, EvaluationFrequency: d.EvaluationFrequency,
		FilterPattern: d.FilterPattern, AnomalyDetectorStatus: d.AnomalyDetectorStatus, KmsKeyId: d.KmsKeyId,
		CreationTimeStamp: d.CreationTimeStamp, LastModifiedTimeStamp: d.LastModifiedTimeStamp, AnomalyVisibilityTime: d.AnomalyVisibilityTime,
	}, nil
}

// ListLogAnomalyDetectors lists detectors, optionally those of one group.
func (s *Service) ListLogAnomalyDetectors(ctx context.Context, in *logsapi.ListLogAnomalyDetectorsInput) (*logsapi.ListLogAnomalyDetectorsOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.Limit, describeLimit)
	out := &logsapi.ListLogAnomalyDetectorsOutput{AnomalyDetectors: []logsapi.AnomalyDetector{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListResources(kindAnomalyDetector, c.Account, c.Region, "", store.Page{After: after})
		if err != nil {
			return err
		}
		for _, r := range all {
			rec, err := getRecord[anomalyDetectorRecord](tx, c, kindAnomalyDetector, r.ID, "")
			if err != nil {
				return err
			}
			if in.FilterLogGroupArn != nil && !contains(rec.Detector.LogGroupArnList, strings.TrimSuffix(*in.FilterLogGroupArn, ":*")) {
				continue
			}
			if len(out.AnomalyDetectors) == limit {
				out.NextToken = encodeToken(lastDetectorID(c, out.AnomalyDetectors))
				return nil
			}
			out.AnomalyDetectors = append(out.AnomalyDetectors, rec.Detector)
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("ListLogAnomalyDetectors", err)
	}
	return out, nil
}

func lastDetectorID(c caller, ds []logsapi.AnomalyDetector) string {
	id, _ := c.detectorID(*ds[len(ds)-1].AnomalyDetectorArn)
	return id
}

// UpdateLogAnomalyDetector changes a detector; enabled false pauses it.
func (s *Service) UpdateLogAnomalyDetector(ctx context.Context, in *logsapi.UpdateLogAnomalyDetectorInput) (*logsapi.UpdateLogAnomalyDetectorOutput, error) {
	c := callerOf(ctx)
	if err := checkAnomalyVisibility(in.AnomalyVisibilityTime); err != nil {
		return nil, err
	}
	if err := checkDetectorPattern(in.FilterPattern); err != nil {
		return nil, err
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, id, err := getDetector(tx, c, *in.AnomalyDetectorArn)
		if err != nil {
			return err
		}
		d := &rec.Detector
		if in.EvaluationFrequency != nil {
			d.EvaluationFrequency = in.EvaluationFrequency
		}
		if in.FilterPattern != nil {
			d.FilterPattern = in.FilterPattern
		}
		if in.AnomalyVisibilityTime != nil {
			d.AnomalyVisibilityTime = in.AnomalyVisibilityTime
		}
		if *in.Enabled {
			if *d.AnomalyDetectorStatus == logsapi.AnomalyDetectorStatusPaused {
				d.AnomalyDetectorStatus = ptr(logsapi.AnomalyDetectorStatusTraining)
			}
		} else {
			d.AnomalyDetectorStatus = ptr(logsapi.AnomalyDetectorStatusPaused)
		}
		d.LastModifiedTimeStamp = ptr(ms(s.now()))
		return s.putRecord(tx, c, kindAnomalyDetector, id, rec)
	})
	if err != nil {
		return nil, apiErr("UpdateLogAnomalyDetector", err)
	}
	return &logsapi.UpdateLogAnomalyDetectorOutput{}, nil
}

// DeleteLogAnomalyDetector deletes a detector.
func (s *Service) DeleteLogAnomalyDetector(ctx context.Context, in *logsapi.DeleteLogAnomalyDetectorInput) (*logsapi.DeleteLogAnomalyDetectorOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		_, id, err := getDetector(tx, c, *in.AnomalyDetectorArn)
		if err != nil {
			return err
		}
		return tx.DeleteResource(kindAnomalyDetector, c.Account, c.Region, id)
	})
	if err != nil {
		return nil, apiErr("DeleteLogAnomalyDetector", err)
	}
	return &logsapi.DeleteLogAnomalyDetectorOutput{}, nil
}

// ListAnomalies lists the anomalies found: none, since Berth trains no
// model. A detector ARN that does not exist is still an error.
func (s *Service) ListAnomalies(ctx context.Context, in *logsapi.ListAnomaliesInput) (*logsapi.ListAnomaliesOutput, error) {
	c := callerOf(ctx)
	if in.AnomalyDetectorArn != nil {
		err := s.st.View(ctx, func(tx store.Tx) error {
			_, _, err := getDetector(tx, c, *in.AnomalyDetectorArn)
			return err
		})
		if err != nil {
			return nil, apiErr("ListAnomalies", err)
		}
	}
	return &logsapi.ListAnomaliesOutput{Anomalies: []logsapi.Anomaly{}}, nil
}

// UpdateAnomaly suppresses or unsuppresses an anomaly or pattern; there
// are none, so a known detector answers that the anomaly does not exist.
func (s *Service) UpdateAnomaly(ctx context.Context, in *logsapi.UpdateAnomalyInput) (*logsapi.UpdateAnomalyOutput, error) {
	c := callerOf(ctx)
	if in.AnomalyId == nil && in.PatternId == nil {
		return nil, invalidParam("Either anomalyId or patternId must be specified.")
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, _, err := getDetector(tx, c, *in.AnomalyDetectorArn)
		return err
	})
	if err != nil {
		return nil, apiErr("UpdateAnomaly", err)
	}
	if in.AnomalyId != nil {
		return nil, logsapi.NewResourceNotFoundException("Anomaly %s does not exist: the detector has found no anomaly.", *in.AnomalyId)
	}
	return nil, logsapi.NewResourceNotFoundException("Pattern %s does not exist: the detector has found no anomaly.", *in.PatternId)
}

// kmsKeyRE is a KMS key ARN, which is what AssociateKmsKey takes.
var kmsKeyRE = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$`)

// kmsGroup resolves the log group of AssociateKmsKey/DisassociateKmsKey:
// logGroupName or resourceIdentifier (a log group ARN; query result ARNs
// are not supported since Berth encrypts nothing).
func (c caller) kmsGroup(name, resource *string) (string, error) {
	switch {
	case name != nil && resource != nil:
		return "", invalidParam("logGroupName and resourceIdentifier are mutually exclusive parameters.")
	case name != nil:
		return *name, nil
	case resource == nil:
		return "", invalidParam("Either logGroupName or resourceIdentifier must be specified.")
	}
	if strings.Contains(*resource, ":query-result:") {
		return "", invalidParam("Associating a KMS key with Logs Insights query results is not supported by Berth.")
	}
	return c.groupOfARN(*resource)
}

// AssociateKmsKey records a KMS key on a log group; DescribeLogGroups
// shows it. Berth has no KMS, so nothing is encrypted with it.
func (s *Service) AssociateKmsKey(ctx context.Context, in *logsapi.AssociateKmsKeyInput) (*logsapi.AssociateKmsKeyOutput, error) {
	if !kmsKeyRE.MatchString(*in.KmsKeyId) {
		return nil, invalidParam("Specified KMS key %s is not a KMS key ARN.", *in.KmsKeyId)
	}
	name, err := callerOf(ctx).kmsGroup(in.LogGroupName, in.ResourceIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.updateGroup(ctx, name, func(g *store.LogGroup) error {
		g.KMSKeyID = *in.KmsKeyId
		return nil
	})
	if err != nil {
		return nil, apiErr("AssociateKmsKey", err)
	}
	return &logsapi.AssociateKmsKeyOutput{}, nil
}

// DisassociateKmsKey removes a log group's KMS key.
func (s *Service) DisassociateKmsKey(ctx context.Context, in *logsapi.DisassociateKmsKeyInput) (*logsapi.DisassociateKmsKeyOutput, error) {
	name, err := callerOf(ctx).kmsGroup(in.LogGroupName, in.ResourceIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.updateGroup(ctx, name, func(g *store.LogGroup) error {
		g.KMSKeyID = ""
		return nil
	})
	if err != nil {
		return nil, apiErr("DisassociateKmsKey", err)
	}
	return &logsapi.DisassociateKmsKeyOutput{}, nil
}

// CreateExportTask would export to S3, which Berth does not have.
func (s *Service) CreateExportTask(ctx context.Context, in *logsapi.CreateExportTaskInput) (*logsapi.CreateExportTaskOutput, error) {
	// AWS checks the log group before the bucket, so a wrong group name is
	// reported as such rather than hidden behind the missing S3.
	c := callerOf(ctx)
	if err := s.st.View(ctx, func(tx store.Tx) error {
		_, err := getGroup(tx, c, str(in.LogGroupName))
		return err
	}); err != nil {
		return nil, apiErr("CreateExportTask", err)
	}
	return nil, invalidParam("Export tasks write to Amazon S3, which Berth does not provide: the destination bucket %s cannot exist. Read the events with GetLogEvents or FilterLogEvents instead.", *in.Destination)
}

// DescribeExportTasks lists export tasks: there are none.
func (s *Service) DescribeExportTasks(ctx context.Context, in *logsapi.DescribeExportTasksInput) (*logsapi.DescribeExportTasksOutput, error) {
	return &logsapi.DescribeExportTasksOutput{ExportTasks: []logsapi.ExportTask{}}, nil
}

// CancelExportTask cancels an export task: there is never one.
func (s *Service) CancelExportTask(ctx context.Context, in *logsapi.CancelExportTaskInput) (*logsapi.CancelExportTaskOutput, error) {
	return nil, logsapi.NewResourceNotFoundException("The specified export task does not exist.")
}
