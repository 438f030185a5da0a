package main

// cborBinding serves a service that AWS moved from awsQuery to Smithy RPC
// v2 CBOR while keeping awsJson1_0 and awsQuery (CloudWatch): clients of
// different ages send any of the three, so one Service is served over all
// of them. Shapes carry awsQuery's traits (its query struct tags and
// validation member names), since the JSON and CBOR forms only use member
// names. The model's awsQueryCompatible trait makes JSON and CBOR errors
// carry the error shape's name in __type and the awsQuery code in the
// x-amzn-query-error header, hence ErrorShapes.
type cborBinding struct{ queryBinding }

func init() { bindings["smithy-rpc-v2-cbor"] = cborBinding{} }

func (b cborBinding) constructor(p *plan, f *file) {
	b.queryBinding.constructor(p, f)
	f.printf("\n")
	jsonBinding{}.constructor(p, f)
	f.printf("\n// ErrorShapes maps the model's error codes to their shape names, which\n// awsQuery-compatible JSON and CBOR errors carry in __type.\nvar ErrorShapes = map[string]string{\n")
	// Two shapes may share a code (DashboardNotFoundError and
	// ResourceNotFound); the one named by its code stands for it.
	shapes := map[string]string{}
	var codes []string
	for _, s := range p.errors {
		code := errorCode(s)
		if prev, ok := shapes[code]; !ok {
			codes = append(codes, code)
		} else if prev == code {
			continue
		}
		shapes[code] = s.Name
	}
	for _, code := range codes {
		f.printf("%q: %q,\n", code, shapes[code])
	}
	f.printf("}\n\n")
	f.printf("// NewCBORService serves s over Smithy RPC v2 CBOR: the operations of\n// the awsJson binding, with CBOR bodies.\n")
	f.printf("func NewCBORService(s Service) *awsapi.CBORService {\nj := NewJSONService(s)\nj.ErrorShapes = ErrorShapes\nreturn &awsapi.CBORService{JSON: j}\n}\n")
}
