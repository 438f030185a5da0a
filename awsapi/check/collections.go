package check

import (
	"maps"
	"slices"

	"github.com/berth-dev/berth/awsapi"
)

// A collection of scalars is reported once, on the collection, when any
// element (or key) breaks its shape's rules, listing all those rules, as
// AWS does: "Member must satisfy constraint: [...]". c is the
// collection's own rules, which say whether it may be echoed.

func (c *Rules) each(vs *awsapi.Violations, p string, v any, kind awsapi.ConstraintKind, elem *Rules) {
	c.add(vs, p, v, awsapi.Constraint{Kind: kind, Inner: elem.list})
}

// Strings checks the string (or enum) elements of the list v at p.
func Strings[T ~string](c *Rules, vs *awsapi.Violations, p string, v []T, elem *Rules) {
	for _, e := range v {
		if !elem.okString(string(e)) {
			c.each(vs, p, v, awsapi.EachMember, elem)
			return
		}
	}
}

// Numbers checks the numeric elements of the list v at p.
func Numbers[T Number](c *Rules, vs *awsapi.Violations, p string, v []T, elem *Rules) {
	for _, e := range v {
		if !okNum(elem, e) {
			c.each(vs, p, v, awsapi.EachMember, elem)
			return
		}
	}
}

// Blobs checks the blob elements of the list v at p.
func Blobs(c *Rules, vs *awsapi.Violations, p string, v [][]byte, elem *Rules) {
	for _, e := range v {
		if !elem.okLen(len(e)) {
			c.each(vs, p, v, awsapi.EachMember, elem)
			return
		}
	}
}

// Keys checks the keys of the map v at p.
func Keys[V any](c *Rules, vs *awsapi.Violations, p string, v map[string]V, key *Rules) {
	for k := range v {
		if !key.okString(k) {
			c.each(vs, p, v, awsapi.MapKeys, key)
			return
		}
	}
}

// StringValues checks the string (or enum) values of the map v at p.
func StringValues[T ~string](c *Rules, vs *awsapi.Violations, p string, v map[string]T, elem *Rules) {
	for _, e := range v {
		if !elem.okString(string(e)) {
			c.each(vs, p, v, awsapi.MapValues, elem)
			return
		}
	}
}

// NumberValues checks the numeric values of the map v at p.
func NumberValues[T Number](c *Rules, vs *awsapi.Violations, p string, v map[string]T, elem *Rules) {
	for _, e := range v {
		if !okNum(elem, e) {
			c.each(vs, p, v, awsapi.MapValues, elem)
			return
		}
	}
}

// Structs checks each structure of the list v at p (p.1.member, ...).
func Structs[E any](vs *awsapi.Violations, p string, v []E, validate func(*E, *awsapi.Violations, string)) {
	for i := range v {
		validate(&v[i], vs, index(p, i))
	}
}

// Each checks each list or map element of the list v at p.
func Each[E any](vs *awsapi.Violations, p string, v []E, check func(*awsapi.Violations, string, E)) {
	for i, e := range v {
		check(vs, index(p, i), e)
	}
}

// StructValues checks each structure of the map v at p (p.key.member),
// in key order.
func StructValues[E any](vs *awsapi.Violations, p string, v map[string]E, validate func(*E, *awsapi.Violations, string)) {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		e := v[k]
		validate(&e, vs, p+"."+k+".member")
	}
}

// Values checks each list or map value of the map v at p, in key order.
func Values[E any](vs *awsapi.Violations, p string, v map[string]E, check func(*awsapi.Violations, string, E)) {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		check(vs, p+"."+k+".member", v[k])
	}
}
