package secrets

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSealOpenAndKeyFile(t *testing.T) {
	home := t.TempDir()
	b, err := LoadOrCreate(home)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(home, KeyFile))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", info.Mode().Perm())
	}
	sealed := b.Seal([]byte("primary"))
	b2, _ := LoadOrCreate(home) // the same key after a restart
	got, err := b2.Open(sealed)
	if err != nil || string(got) != "primary" {
		t.Fatalf("open: %q %v", got, err)
	}
	other, _ := LoadOrCreate(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("another key opened the sealed value")
	}
	if _, err := b.Open("!!"); err == nil {
		t.Fatal("garbage opened")
	}
}

func TestTokens(t *testing.T) {
	b, _ := LoadOrCreate(t.TempDir())
	now := time.Unix(1_700_000_000, 0)
	tok := b.Token("ep", "1", now.Add(time.Hour))
	if !b.VerifyToken(tok, "ep", "1", now) {
		t.Fatal("fresh token refused")
	}
	if b.VerifyToken(tok, "other", "1", now) {
		t.Error("token accepted for another endpoint")
	}
	if b.VerifyToken(tok, "ep", "2", now) {
		t.Error("token accepted for a new endpoint of the same name")
	}
	if b.VerifyToken(tok, "ep", "1", now.Add(2*time.Hour)) {
		t.Error("expired token accepted")
	}
	if b.VerifyToken(tok+"x", "ep", "1", now) || b.VerifyToken("a.b", "ep", "1", now) || b.VerifyToken("", "ep", "1", now) {
		t.Error("forged token accepted")
	}
}
