package main

import (
	"strconv"
	"strings"
	"testing"
)

func TestIPPoolHandsOutDistinctAddressesAndLocksItsBlock(t *testing.T) {
	dir := t.TempDir()
	a, err := newIPPool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := newIPPool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if a.block == b.block {
		t.Fatalf("two pools share the block 127.%d", a.block)
	}

	seen := map[string]bool{}
	for range 600 {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if seen[ip] || strings.HasSuffix(ip, ".0") || strings.HasSuffix(ip, ".255") {
			t.Fatalf("allocate gave %s twice or a .0/.255 address", ip)
		}
		seen[ip] = true
	}
	first := "127." + strconv.Itoa(a.block) + ".0.1"
	a.release(first)
	if !seen[first] || len(a.used) != 599 {
		t.Errorf("release(%s) left %d addresses in use, want 599", first, len(a.used))
	}
}
