package main

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "POD_IP": "127.1.0.1"}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "1"},
		{"http://$(POD_IP):$(A)0", "http://127.1.0.1:10"},
		{"$(MISSING) stays", "$(MISSING) stays"},
		{"$$(A) is escaped", "$(A) is escaped"},
		{"a $ alone", "a $ alone"},
		{"trailing $", "trailing $"},
		{"$(unterminated", "$(unterminated"},
		{"$A is not a reference", "$A is not a reference"},
	} {
		if got := expand(tc.in, lookup); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEnvListKeepsFirstOrderAndLastValue(t *testing.T) {
	e := newEnvList()
	e.set("PATH", "/a")
	e.set("X", "1")
	e.set("PATH", "/b")
	got := e.list()
	if len(got) != 2 || got[0] != "PATH=/b" || got[1] != "X=1" {
		t.Errorf("list() = %q, want [PATH=/b X=1]", got)
	}
}

func TestSubscript(t *testing.T) {
	if k, ok := subscript("metadata.labels['app.kubernetes.io/name']", "metadata.labels"); !ok || k != "app.kubernetes.io/name" {
		t.Errorf("subscript = %q, %v", k, ok)
	}
	if _, ok := subscript("metadata.labels", "metadata.labels"); ok {
		t.Error("subscript matched a path without a key")
	}
}
