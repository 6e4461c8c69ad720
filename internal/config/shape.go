package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// shapeChecker walks the generic form of the YAML document against the Config types,
// before anything is decoded. encoding/json stops at its first error, names no field
// path, and matches keys case-insensitively; this walk is strict (exact key names),
// reports every misfit with its path, and removes the misfits so that the rest still
// decodes and is validated in the same run.
type shapeChecker struct {
	problems
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// value checks v against t and returns the value to keep, or ok=false to drop it.
func (c *shapeChecker) value(v any, t reflect.Type, path string) (_ any, ok bool) {
	if v == nil {
		return nil, true // null: the field keeps its zero value
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		if err != nil {
			c.add(path, "%s", err)
			return nil, false
		}
		return v, true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.value(v, t.Elem(), path)
	case reflect.Struct:
		return c.object(v, t, path)
	case reflect.Slice:
		list, isList := v.([]any)
		if !isList {
			return c.mismatch(path, "a list", v)
		}
		for i, e := range list {
			// A bad element becomes null rather than vanishing, so that later paths
			// still carry the index the operator sees in the file.
			list[i], _ = c.value(e, t.Elem(), index(path, i))
		}
		return list, true
	case reflect.Map:
		m, isMap := v.(map[string]any)
		if !isMap {
			return c.mismatch(path, "a mapping", v)
		}
		for k, e := range m {
			if m[k], ok = c.value(e, t.Elem(), field(path, k)); !ok {
				delete(m, k)
			}
		}
		return m, true
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number: // an unquoted number where text is expected: `region: 1`
			return x.String(), true
		case bool:
			return strconv.FormatBool(x), true
		}
		return c.mismatch(path, "a string", v)
	case reflect.Bool:
		if _, isBool := v.(bool); isBool {
			return v, true
		}
		return c.mismatch(path, "true or false", v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, isNum := v.(json.Number)
		if i, err := n.Int64(); isNum && err == nil && !reflect.Zero(t).OverflowInt(i) {
			return v, true
		}
		return c.mismatch(path, "a whole number", v)
	}
	return v, true
}

func (c *shapeChecker) object(v any, t reflect.Type, path string) (any, bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return c.mismatch(path, "a mapping", v)
	}
	fields := jsonFields(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, known := fields[k]
		if !known {
			c.add(field(path, k), "unknown field%s", suggest(k, fields))
			delete(m, k)
			continue
		}
		var ok bool
		if m[k], ok = c.value(m[k], f.Type, field(path, k)); !ok {
			delete(m, k)
		}
	}
	return m, true
}

func (c *shapeChecker) mismatch(path, want string, got any) (any, bool) {
	c.add(path, "must be %s (got %s)", want, describe(got))
	return nil, false
}

func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(x)
	default:
		return fmt.Sprint(x)
	}
}

// jsonFields maps a struct's JSON key names to its fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = f
		}
	}
	return fields
}

// suggest names the field the operator probably meant, or lists the allowed ones.
func suggest(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	best, bestDist := "", 3
	for name := range fields {
		names = append(names, name)
		d := distance(strings.ToLower(key), strings.ToLower(name))
		if d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sort.Strings(names)
	return "; known fields here: " + strings.Join(names, ", ")
}

// distance is the Levenshtein edit distance, for typo suggestions.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
