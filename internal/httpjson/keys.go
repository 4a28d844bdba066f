package httpjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// checkKeys walks body token by token against t, the type it is decoded
// into, before encoding/json sees it. encoding/json matches a key to a field
// case-insensitively and lets a repeated key override the first: then
// {"total_amount":"1.00","TOTAL_AMOUNT":"900.00"} charges 900.00 while a
// log or a proxy that reads the first key sees 1.00. Here every object, at
// every depth, must hold each key once, and where t has a struct each key
// must be one of its fields' JSON names exactly. Values whose type decodes
// itself (json.Unmarshaler, encoding.TextUnmarshaler) and interfaces are
// checked for repeated keys only. It also refuses anything after the one
// value.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number is only skipped here: 1e400 is encoding/json's to judge
	k := &keyWalk{dec: dec}
	if err := k.value(t, ""); err != nil {
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) > 0 {
			err = io.ErrUnexpectedEOF // Token's word for a value cut short
		}
		return k.fail(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return &BadRequest{http.StatusBadRequest, "body holds more than one JSON value"}
		}
		return k.fail(err)
	}
	return nil
}

// MaxDepth bounds how deeply a body's arrays and objects may nest: no
// request of the API nests more than a few levels, and the walk's work
// grows with the depth.
const MaxDepth = 32

type keyWalk struct {
	dec   *json.Decoder
	depth int // arrays and objects open
}

func (k *keyWalk) fail(err error) error {
	var br *BadRequest
	if errors.As(err, &br) {
		return br
	}
	return decodeError(err, 0)
}

// value walks the next value, which is decoded into t (nil: anything).
func (k *keyWalk) value(t reflect.Type, path string) error {
	tok, err := k.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if k.depth++; k.depth > MaxDepth {
		return &BadRequest{http.StatusBadRequest, fmt.Sprintf("body nests arrays and objects deeper than %d levels", MaxDepth)}
	}
	defer func() { k.depth-- }()
	t = shape(t)
	if d == '{' {
		return k.object(t, path)
	}
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; k.dec.More(); i++ {
		if err := k.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, err = k.dec.Token() // ]
	return err
}

func (k *keyWalk) object(t reflect.Type, path string) error {
	var (
		fields map[string]reflect.Type
		elem   reflect.Type
	)
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for k.dec.More() {
		tok, err := k.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name := key
		if path != "" {
			name = path + "." + key
		}
		if seen[key] {
			return &BadRequest{http.StatusBadRequest, fmt.Sprintf("field %q appears twice; send each field once", name)}
		}
		seen[key] = true
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return unknownField(name, key, fields)
			}
		}
		if err := k.value(ft, name); err != nil {
			return err
		}
	}
	_, err := k.dec.Token() // }
	return err
}

// unknownField names the key, and the field it was probably meant to be
// when only the case differs.
func unknownField(name, key string, fields map[string]reflect.Type) error {
	msg := fmt.Sprintf("unknown field %q", name)
	for f := range fields {
		if strings.EqualFold(f, key) {
			msg += fmt.Sprintf(": field names are case-sensitive, this one is %q", f)
			break
		}
	}
	return &BadRequest{http.StatusBadRequest, msg}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shape is t without its pointers, or nil when t takes any JSON: an
// interface, or a type that decodes itself.
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf maps the JSON names of struct t's fields, as encoding/json
// decodes them, to their types: exported fields under their tag's name or
// their own, "-" left out, untagged embedded structs flattened into their
// parent (a shallower field wins a name).
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	depth := map[string]int{}
	var add func(t reflect.Type, d int, visiting map[reflect.Type]bool)
	add = func(t reflect.Type, d int, visiting map[reflect.Type]bool) {
		if visiting[t] {
			return
		}
		visiting[t] = true
		defer delete(visiting, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			ft := sf.Type
			if sf.Anonymous && ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !sf.IsExported() && !(sf.Anonymous && ft.Kind() == reflect.Struct) {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				add(ft, d+1, visiting)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if old, ok := depth[name]; !ok || d < old {
				out[name], depth[name] = sf.Type, d
			}
		}
	}
	add(t, 0, map[reflect.Type]bool{})
	f, _ := fieldCache.LoadOrStore(t, out)
	return f.(map[string]reflect.Type)
}

// jsonKind says in JSON's words what a Go type takes, for a message to a
// POS developer who never sees the Go types.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return "another JSON value"
}
