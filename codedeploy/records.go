package codedeploy

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/codedeploy/appspec"
	"github.com/berth-dev/berth/codedeploy/traffic"
	"github.com/berth-dev/berth/store"
)

// Record kinds in the store's resource area, per account and region
// unless said otherwise.
const (
	kindApplication = "codedeploy.application" // id: application name
	kindGroup       = "codedeploy.group"       // id: application id/group name (ids survive renames)
	kindConfig      = "codedeploy.config"      // id: custom deployment configuration name
	kindDeployment  = "codedeploy.deployment"  // id: deployment id
	// kindActive is global (empty account and region) so that the engine
	// finds every unfinished deployment of every account in one listing;
	// id: account/region/deployment id.
	kindActive = "codedeploy.active"
)

// scope is the account and region a record lives in.
type scope struct{ account, region string }

var global = scope{}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type appRecord struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	ComputePlatform string    `json:"computePlatform"`
	CreateTime      time.Time `json:"createTime"`
	Tags            []tag     `json:"tags,omitempty"`
}

// groupRecord keeps the deployment group as the API describes it (the
// generated DeploymentGroupInfo, without application name and last
// deployments, which are looked up) and what CodeDeploy tracks about it.
type groupRecord struct {
	AppID  string                    `json:"appId"`
	Info   cdapi.DeploymentGroupInfo `json:"info"`
	Tags   []tag                     `json:"tags,omitempty"`
	Active string                    `json:"active,omitempty"` // the unfinished deployment, at most one
	// LastAttempted and LastSuccessful are deployment ids.
	LastAttempted  string `json:"lastAttempted,omitempty"`
	LastSuccessful string `json:"lastSuccessful,omitempty"`
}

type configRecord struct {
	ID         string                      `json:"id"`
	Name       string                      `json:"name"`
	Platform   string                      `json:"computePlatform"`
	CreateTime time.Time                   `json:"createTime"`
	Traffic    *cdapi.TrafficRoutingConfig `json:"trafficRoutingConfig,omitempty"`
	MinHealthy *cdapi.MinimumHealthyHosts  `json:"minimumHealthyHosts,omitempty"`
}

// Deployment phases, in the order a deployment goes through them.
const (
	phaseStart     = "start"     // resolve the service, its blue task set and the target groups
	phaseInstall   = "install"   // green task set created, waiting for it to be steady and healthy
	phaseReady     = "ready"     // test traffic on green, waiting for ContinueDeployment (STOP_DEPLOYMENT)
	phaseShift     = "shift"     // production traffic moving by the plan
	phaseTerminate = "terminate" // all traffic on green, waiting before deleting blue
	phaseRollback  = "rollback"  // a rollback deployment: traffic back to blue, green deleted
	phaseDone      = "done"
)

// lifecycle event names of an ECS deployment, in order.
var ecsEvents = []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}

type lifecycleEvent struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
}

// taskSetView is what the target reports of a task set; refreshed by the
// engine when it changes.
type taskSetView struct {
	ID          string  `json:"id"`
	Desired     int64   `json:"desired"`
	Pending     int64   `json:"pending"`
	Running     int64   `json:"running"`
	Status      string  `json:"status"`
	Weight      float64 `json:"weight"`
	TargetGroup string  `json:"targetGroup"`
	Label       string  `json:"label"`
}

// deploymentRecord is a deployment: what was asked (spec) and where the
// engine is (status). The engine's progress is all here, so a restarted
// Berth continues from the last committed phase; every external step it
// takes is idempotent (the green task set is found again by its
// externalId, listener weights and the primary task set are set, not
// changed by a delta).
type deploymentRecord struct {
	ID          string    `json:"id"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	AppID       string    `json:"appId"`
	AppName     string    `json:"appName"`
	GroupName   string    `json:"groupName"`
	GroupID     string    `json:"groupId"`
	ConfigName  string    `json:"configName"`
	Creator     string    `json:"creator"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"createTime"`

	Revision     cdapi.RevisionLocation                 `json:"revision"`
	Spec         appspec.TargetService                  `json:"spec"`
	Hooks        map[string]string                      `json:"hooks,omitempty"`
	Plan         traffic.Plan                           `json:"plan"`
	AutoRollback *cdapi.AutoRollbackConfiguration       `json:"autoRollback,omitempty"`
	BlueGreen    cdapi.BlueGreenDeploymentConfiguration `json:"blueGreen"`
	LB           cdapi.LoadBalancerInfo                 `json:"loadBalancerInfo"`
	Cluster      string                                 `json:"cluster"`
	ServiceName  string                                 `json:"service"`
	ServiceRole  string                                 `json:"serviceRole,omitempty"`

	Status         string           `json:"status"`
	StartTime      time.Time        `json:"startTime,omitzero"`
	CompleteTime   time.Time        `json:"completeTime,omitzero"`
	ErrorCode      string           `json:"errorCode,omitempty"`
	ErrorMessage   string           `json:"errorMessage,omitempty"`
	Rollback       *rollbackInfo    `json:"rollback,omitempty"`
	StatusMessages []string         `json:"statusMessages,omitempty"`
	Events         []lifecycleEvent `json:"events"`
	TargetStatus   string           `json:"targetStatus"`
	TargetUpdated  time.Time        `json:"targetUpdated"`
	TaskSets       []taskSetView    `json:"taskSets,omitempty"`

	Phase         string    `json:"phase"`
	PhaseStarted  time.Time `json:"phaseStarted,omitzero"`
	ServiceARN    string    `json:"serviceArn,omitempty"`
	BlueTaskSet   string    `json:"blueTaskSet,omitempty"`
	GreenTaskSet  string    `json:"greenTaskSet,omitempty"`
	BlueTG        string    `json:"blueTg,omitempty"`
	GreenTG       string    `json:"greenTg,omitempty"`
	GreenPercent  int       `json:"greenPercent"`
	ContinueReady bool      `json:"continueReady,omitempty"`
	ContinueTerm  bool      `json:"continueTermination,omitempty"`
	TermWaitStart bool      `json:"terminationWaitStarted,omitempty"`
	RollbackOf    string    `json:"rollbackOf,omitempty"` // for a rollback deployment: the deployment it undoes
	Version       int64     `json:"version"`
}

type rollbackInfo struct {
	DeploymentID           string `json:"deploymentId,omitempty"`
	TriggeringDeploymentID string `json:"triggeringDeploymentId,omitempty"`
	Message                string `json:"message,omitempty"`
}

func (d *deploymentRecord) scope() scope { return scope{d.Account, d.Region} }

// terminal reports whether the deployment has ended.
func (d *deploymentRecord) terminal() bool {
	switch d.Status {
	case statusSucceeded, statusFailed, statusStopped:
		return true
	}
	return false
}

func (d *deploymentRecord) event(name string) *lifecycleEvent {
	for i := range d.Events {
		if d.Events[i].Name == name {
			return &d.Events[i]
		}
	}
	return nil
}

// setEvent moves a lifecycle event to status at now, stamping its start
// and (for a final status) its end.
func (d *deploymentRecord) setEvent(name, status string, now time.Time) {
	e := d.event(name)
	if e == nil {
		return
	}
	if e.Status == status {
		return
	}
	if e.Start.IsZero() {
		e.Start = now
	}
	e.Status = status
	switch status {
	case eventSucceeded, eventFailed, eventSkipped:
		e.End = now
	}
	d.TargetUpdated = now
}

// Status values, as the API spells them.
const (
	statusCreated    = string(cdapi.DeploymentStatusCreated)
	statusInProgress = string(cdapi.DeploymentStatusInProgress)
	statusReady      = string(cdapi.DeploymentStatusReady)
	statusSucceeded  = string(cdapi.DeploymentStatusSucceeded)
	statusFailed     = string(cdapi.DeploymentStatusFailed)
	statusStopped    = string(cdapi.DeploymentStatusStopped)

	eventPending    = string(cdapi.LifecycleEventStatusPending)
	eventInProgress = string(cdapi.LifecycleEventStatusInProgress)
	eventSucceeded  = string(cdapi.LifecycleEventStatusSucceeded)
	eventFailed     = string(cdapi.LifecycleEventStatusFailed)
	eventSkipped    = string(cdapi.LifecycleEventStatusSkipped)
)

// getDoc, putDoc, createDoc and deleteDoc are the store's document helpers
// bound to a scope: see store.GetDoc and the others.
func getDoc[T any](tx store.Tx, kind string, sc scope, id string) (*T, error) {
	return store.GetDoc[T](tx, kind, sc.account, sc.region, id)
}

func putDoc(tx store.Tx, kind string, sc scope, id string, v any, now time.Time) error {
	return store.PutDoc(tx, kind, sc.account, sc.region, id, v, now)
}

func createDoc(tx store.Tx, kind string, sc scope, id string, v any, now time.Time) error {
	return store.CreateDoc(tx, kind, sc.account, sc.region, id, v, now)
}

func deleteDoc(tx store.Tx, kind string, sc scope, id string) error {
	return store.DeleteDoc(tx, kind, sc.account, sc.region, id)
}

// listDocs returns every record of a kind whose id starts with prefix, in
// id order.
func listDocs[T any](tx store.Tx, kind string, sc scope, prefix string) ([]*T, []string, error) {
	return store.AllDocs[*T](tx, kind, sc.account, sc.region, prefix, store.Page{})
}

func activeID(sc scope, deploymentID string) string {
	return sc.account + "/" + sc.region + "/" + deploymentID
}

func groupKey(appID, group string) string { return appID + "/" + group }

// newUUID returns a random UUID, the form of CodeDeploy's application,
// group and configuration ids.
var newUUID = awsapi.NewUUID

// nameUUID derives a stable UUID from a name, for the built-in
// configurations, whose ids must not change between calls.
func nameUUID(name string) string {
	b := sha256.Sum256([]byte("codedeploy/" + name))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newDeploymentID returns an id of CodeDeploy's form: d- and nine
// upper-case letters and digits.
func newDeploymentID() string {
	var b [9]byte
	rand.Read(b[:])
	var sb strings.Builder
	sb.WriteString("d-")
	for _, c := range b {
		sb.WriteByte(idAlphabet[int(c)%len(idAlphabet)])
	}
	return sb.String()
}
