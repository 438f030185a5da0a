package ec2

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/awsapi"
)

// ErrNotFound is what NotFoundError matches with errors.Is.
var ErrNotFound = errors.New("ec2: not found")

// ErrMalformed is what a MalformedIDError matches with errors.Is.
var ErrMalformed = errors.New("ec2: malformed id")

// NotFoundError says that a VPC, subnet or security group does not exist
// in the caller's account and region. Code and Message are EC2's (for
// example InvalidSubnetID.NotFound, "The subnet ID 'subnet-1' does not
// exist"); callers such as ECS and ELB wrap them in their own codes.
type NotFoundError struct {
	Kind    string // vpc, subnet or security-group
	ID      string
	Code    string
	Message string
}

func (e *NotFoundError) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// API is the error as EC2 answers it.
func (e *NotFoundError) API() *awsapi.Error { return awsapi.Errorf(e.Code, "%s", e.Message) }

// MalformedIDError says that an id is not of the form its kind has
// (subnet-<hex>, sg-<hex>, vpc-<hex>).
type MalformedIDError struct {
	Kind    string
	ID      string
	Code    string
	Message string
}

func (e *MalformedIDError) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrMalformed) hold.
func (e *MalformedIDError) Is(target error) bool { return target == ErrMalformed }

// API is the error as EC2 answers it.
func (e *MalformedIDError) API() *awsapi.Error { return awsapi.Errorf(e.Code, "%s", e.Message) }

// apiError turns the typed errors into the EC2 wire error.
func apiError(err error) error {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nf.API()
	}
	var mf *MalformedIDError
	if errors.As(err, &mf) {
		return mf.API()
	}
	return err
}

var (
	idPattern = regexp.MustCompile(`^[a-z0-9-]+-[0-9a-f]{8}([0-9a-f]{9})?$`)
	vpcCodes  = idKind{"vpc", "vpc", "InvalidVpcID"}
	subCodes  = idKind{"subnet", "subnet", "InvalidSubnetID"}
	sgCodes   = idKind{"security-group", "sg", "InvalidGroupId"}
)

type idKind struct{ kind, prefix, code string }

// check returns a MalformedIDError unless id looks like an id of k.
func (k idKind) check(id string) error {
	if strings.HasPrefix(id, k.prefix+"-") && idPattern.MatchString(id) {
		return nil
	}
	return &MalformedIDError{Kind: k.kind, ID: id, Code: k.code + ".Malformed", Message: fmt.Sprintf("Invalid id: %q (expecting %q)", id, k.prefix+"-...")}
}

func vpcNotFound(id string) error {
	return &NotFoundError{Kind: "vpc", ID: id, Code: "InvalidVpcID.NotFound", Message: fmt.Sprintf("The vpc ID '%s' does not exist", id)}
}

func subnetNotFound(id string) error {
	return &NotFoundError{Kind: "subnet", ID: id, Code: "InvalidSubnetID.NotFound", Message: fmt.Sprintf("The subnet ID '%s' does not exist", id)}
}

func groupNotFound(id string) error {
	return &NotFoundError{Kind: "security-group", ID: id, Code: "InvalidGroup.NotFound", Message: fmt.Sprintf("The security group '%s' does not exist", id)}
}

func groupNameNotFound(name, vpc string) error {
	return &NotFoundError{Kind: "security-group", ID: name, Code: "InvalidGroup.NotFound", Message: fmt.Sprintf("The security group '%s' does not exist in VPC '%s'", name, vpc)}
}

func invalidParam(format string, args ...any) error {
	return awsapi.Errorf("InvalidParameterValue", format, args...)
}

func missingParam(name string) error {
	return awsapi.Errorf("MissingParameter", "The request must contain the parameter %s", name)
}

func apiErr(code, msg string) *awsapi.Error { return awsapi.Errorf(code, "%s", msg) }
