// Package querywire is the runtime of the generated awsQuery bindings in
// api/<service> (IAM, STS, ELBv2): it decodes form parameters into the
// generated input types, writes output structures as awsQuery XML and
// wires typed service methods into awsapi.QueryOperation values.
//
// The generated types carry their wire names in their json tags (the
// member's locationName or name), and an optional query tag with the
// traits that change how collections travel:
//
//	flat         the list or map is flattened: Name.1, Name.2 and
//	             repeated <Name> elements instead of Name.member.1 and
//	             <Name><member>
//	member=item  the name of list elements (or, flattened, the name that
//	             replaces the member's own)
//	key=k        the name of map keys (default key)
//	value=v      the name of map values (default value)
package querywire
