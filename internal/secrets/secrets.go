// Package secrets keeps what must not be stored or shown in the clear: endpoint keys (sealed
// with AES-GCM) and endpoint tokens (signed with HMAC-SHA256), both under one server key that
// lives in the data folder with mode 0600.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeyFile is the server key's file in the data folder.
const KeyFile = "server.key"

// Box seals and signs with the server key.
type Box struct {
	aead    cipher.AEAD
	signKey []byte
}

// LoadOrCreate reads the server key of the data folder home, creating it on first start.
func LoadOrCreate(home string) (*Box, error) {
	path := filepath.Join(home, KeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("writing server key: %w", err)
		}
		_, err = f.Write(key)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing server key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading server key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("server key %s is %d bytes, not 32; restore it from a backup (sealed keys cannot be read without it)", path, len(key))
	}
	return New(key)
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("berth endpoint tokens"))
	return &Box{aead: aead, signKey: mac.Sum(nil)}, nil
}

// Seal encrypts plain; only Open with the same key reads it.
func (b *Box) Seal(plain []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, nil))
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, errors.New("sealed value is malformed")
	}
	n := b.aead.NonceSize()
	return b.aead.Open(nil, data[:n], data[n:], nil)
}

// tokenClaims are what an endpoint token says. Instance tells apart endpoints that had the
// same name: a token of a deleted endpoint does not open the one created after it.
type tokenClaims struct {
	Endpoint string `json:"endpoint"`
	Instance string `json:"instance"`
	Expires  int64  `json:"exp"`
}

// Token issues a token for one endpoint (its name and the instance id that tells it from
// endpoints of the same name before and after it) that expires at expires.
func (b *Box) Token(endpoint, instance string, expires time.Time) string {
	payload, _ := json.Marshal(tokenClaims{Endpoint: endpoint, Instance: instance, Expires: expires.Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(b.sign(payload))
}

func (b *Box) sign(payload []byte) []byte {
	mac := hmac.New(sha256.New, b.signKey)
	mac.Write(payload)
	return mac.Sum(nil)
}

// VerifyToken reports whether token was issued for endpoint (this instance of it) and has not
// expired at now.
func (b *Box) VerifyToken(token, endpoint, instance string, now time.Time) bool {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, b.sign(payload)) {
		return false
	}
	var c tokenClaims
	if json.Unmarshal(payload, &c) != nil {
		return false
	}
	return c.Endpoint == endpoint && c.Instance == instance && now.Unix() < c.Expires
}

// RandomKey returns a new endpoint key.
func RandomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
