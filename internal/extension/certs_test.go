package extension

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every test: test certificates are valid from notBefore to notAfter.
var (
	testNow   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	notBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// testParser parses with testNow as the clock.
var testParser = Parser{Now: func() time.Time { return testNow }}

// Keys are generated once per test binary: RSA takes a while, and the messages never depend on
// the key's bytes.
var (
	ecKey    = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC() })
	otherKey = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC() })
	caKey    = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC() })
	rsaKey   = sync.OnceValue(func() *rsa.PrivateKey {
		return must(rsa.GenerateKey(rand.Reader, 2048))
	})
	edKey = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return must(k, err)
	})
	certCache sync.Map
)

func mustEC() *ecdsa.PrivateKey {
	return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// certSpec describes a test certificate.
type certSpec struct {
	key       crypto.Signer
	from, to  time.Time
	dnsNames  []string
	ips       []string
	issuer    crypto.Signer // nil: self-signed
	issuerPEM bool          // append the issuer's certificate (a chain)
}

// makeCert returns a certificate as PEM, as the CLI passes a file's contents.
func makeCert(t testing.TB, spec certSpec) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "berth test"},
		NotBefore:    spec.from,
		NotAfter:     spec.to,
		DNSNames:     spec.dnsNames,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range spec.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	parent, signer := tmpl, spec.key
	var chain string
	if spec.issuer != nil {
		ca := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "berth test CA"},
			NotBefore:             spec.from,
			NotAfter:              spec.to,
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, ca, ca, spec.issuer.Public(), spec.issuer)
		if err != nil {
			t.Fatal(err)
		}
		parent = must(x509.ParseCertificate(der))
		signer = spec.issuer
		if spec.issuerPEM {
			chain = pemText("CERTIFICATE", der)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, spec.key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return pemText("CERTIFICATE", der) + chain
}

// validCert is a certificate for ml.example.com with ecKey, valid at testNow.
func validCert(t testing.TB) string {
	if c, ok := certCache.Load("valid"); ok {
		return c.(string)
	}
	c := makeCert(t, certSpec{key: ecKey(), from: notBefore, to: notAfter,
		dnsNames: []string{"ml.example.com"}})
	certCache.Store("valid", c)
	return c
}

// keyPEM encodes key in format: "pkcs1", "pkcs8" or "ec".
func keyPEM(t testing.TB, key crypto.Signer, format string) string {
	t.Helper()
	switch format {
	case "pkcs1":
		return pemText("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey)))
	case "ec":
		return pemText("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))))
	case "pkcs8":
		return pemText("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(key)))
	}
	t.Fatalf("unknown key format %q", format)
	return ""
}

// validKey is ecKey's PEM, the key of validCert.
func validKey(t testing.TB) string {
	return keyPEM(t, ecKey(), "ec")
}

func pemText(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// garbled returns a PEM block of typ whose bytes are no DER.
func garbled(typ string) string {
	return pemText(typ, []byte(strings.Repeat("not der ", 8)))
}
