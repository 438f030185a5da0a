package main

// validationLike are the error codes an operation's model can declare for
// input that breaks the model, most preferred first. When an operation
// does not declare the service-wide validation code but declares several
// of these, AWS's front end for it is the one named first here:
// ValidationException is what Smithy-era front ends (Logs deliveries, ECR
// signing) send for constraint failures; the InvalidParameter* codes
// describe a bad parameter value, which is what a constraint failure is;
// InvalidInput(Exception) is the same idea in older services (IAM, Cloud
// Map); InvalidRequestException is last because services also use it for
// requests that are well-formed but not allowed in the resource's state
// (EKS, Secrets Manager).
var validationLike = []string{
	"ValidationException",
	"InvalidParameterException",
	"InvalidParameterValueException",
	"InvalidInputException",
	"InvalidInput",
	"InvalidRequestException",
}

// validationCode is the error code op answers model validation failures
// with, and the errors.go constant naming it ("" for serviceCode, which
// the generated code names validationCode).
//
// The service-wide code stays when the model does not define it as an
// error shape: then it is the protocol front end's own code (awsQuery's
// ValidationError, Coral's unmodeled ValidationException in Secrets
// Manager), which AWS sends whatever the operation declares; IAM's
// CreateRole declares InvalidInput yet answers a bad role name with
// ValidationError. It also stays when op declares it, or declares no
// validation-like error at all. Otherwise op's front end is a different
// one (the Logs delivery operations declare only ValidationException) and
// its most preferred validation-like error is the code.
func (p *plan) validationCode(op *Operation, serviceCode string) (code, constant string) {
	if !p.modelsCode(serviceCode) {
		return serviceCode, ""
	}
	declared := map[string]string{}
	for _, ref := range op.Errors {
		s := p.m.Shapes[ref.Shape]
		declared[errorCode(s)] = s.Name
	}
	if _, ok := declared[serviceCode]; ok {
		return serviceCode, ""
	}
	for _, c := range validationLike {
		if name, ok := declared[c]; ok {
			return c, p.errorNames[name].code
		}
	}
	return serviceCode, ""
}

// modelsCode reports whether code is the code of one of the model's
// error shapes.
func (p *plan) modelsCode(code string) bool {
	for _, s := range p.m.Shapes {
		if s.Exception && errorCode(s) == code {
			return true
		}
	}
	return false
}

// inputCodes is the constant each input type's Validate passes as its
// error code, for the input types whose code is not the service-wide
// one. Operations sharing an input type that disagree keep the
// service-wide code: one Validate method cannot tell them apart.
func (p *plan) inputCodes(serviceCode string) map[string]string {
	byType := map[string]map[string]bool{}
	constants := map[string]string{}
	for _, op := range p.ops {
		t := p.inputs[op.Name]
		code, constant := p.validationCode(op, serviceCode)
		if byType[t] == nil {
			byType[t] = map[string]bool{}
		}
		byType[t][code] = true
		if constant != "" {
			constants[t] = constant
		}
	}
	out := map[string]string{}
	for t, codes := range byType {
		if len(codes) == 1 && constants[t] != "" {
			out[t] = constants[t]
		}
	}
	return out
}
