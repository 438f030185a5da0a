package main

import "strings"

// serviceFile writes the Service interface, UnimplementedService and the
// constructor of the protocol binding.
func (p *plan) serviceFile(b binding) *file {
	f := newFile("service.go", p.pkg)
	f.use("context")
	f.use(awsapiPath)
	md := p.m.Metadata
	f.printf("// ServiceID is the model's service id, as AWS names the service in messages.\nconst ServiceID = %q\n\n", md.ServiceID)
	f.printf("// Service is the %s API, one method per operation.\n// Implementations embed UnimplementedService so that operations can be\n// added one at a time.\n", md.ServiceFullName)
	f.printf("type Service interface {\n")
	for _, op := range p.ops {
		f.printf("%s", comment(op.Documentation))
		f.printf("%s(ctx context.Context, in *%s) (*%s, error)\n", exportName(op.Name), p.inputs[op.Name], p.outputs[op.Name])
	}
	f.printf("}\n\n")
	f.printf("// UnimplementedService answers every operation with NotImplementedException.\ntype UnimplementedService struct{}\n\n")
	for _, op := range p.ops {
		f.printf("func (UnimplementedService) %s(context.Context, *%s) (*%s, error) {\nreturn nil, notImplemented(%q)\n}\n\n", exportName(op.Name), p.inputs[op.Name], p.outputs[op.Name], op.Name)
	}
	f.printf("func notImplemented(op string) error {\nreturn awsapi.NewError(501, \"NotImplementedException\", \"Berth does not implement %%s %%s yet.\", ServiceID, op)\n}\n\n")
	b.constructor(p, f)
	return f
}

// operationsFile lists the operations and how the paginated ones page.
func (p *plan) operationsFile() *file {
	f := newFile("operations.go", p.pkg)
	f.printf("// OperationNames lists the model's operations, sorted.\nvar OperationNames = []string{\n")
	for _, op := range p.ops {
		f.printf("%q,\n", op.Name)
	}
	f.printf("}\n\n")
	f.printf("// Paginator is how an operation pages, from the model's paginators: the\n// input and output members carrying the token, the page size member and\n// the output members holding results.\n")
	f.printf("type Paginator struct {\nInputTokens, OutputTokens []string\nLimitKey string\nResultKeys []string\n}\n\n")
	f.printf("// Paginators maps paginated operations to how they page.\nvar Paginators = map[string]Paginator{\n")
	for _, op := range p.ops {
		pg, ok := p.m.Paginators[op.Name]
		if !ok {
			continue
		}
		f.printf("%q: {InputTokens: %s, OutputTokens: %s, LimitKey: %q, ResultKeys: %s},\n", op.Name, goStrings(pg.InputToken), goStrings(pg.OutputToken), pg.LimitKey, goStrings(pg.ResultKey))
	}
	f.printf("}\n")
	return f
}

func goStrings(ss []string) string {
	if len(ss) == 0 {
		return "nil"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = goString(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
