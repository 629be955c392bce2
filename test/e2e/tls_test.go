package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"berth/internal/server"
)

// writePEM writes one PEM block to dir/name and returns its path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// privateCA writes a CA and a server certificate it issued for host: the CA's, the
// certificate's and the key's files.
func privateCA(t *testing.T, dir, host string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER), writePEM(t, dir, "cert.pem", "CERTIFICATE", der),
		writePEM(t, dir, "key.pem", "PRIVATE KEY", keyDER)
}

// A certificate of a private CA for "localhost": without --advertise-url the server would
// advertise 127.0.0.1, which it does not name, and refuses to start; advertising localhost,
// it starts, and the CLI on this machine reaches it through the data folder's address.
func TestServerWithAGivenCertificate(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := privateCA(t, dir, "localhost")
	w := &workspace{t: t, home: t.TempDir()}
	r := w.berth(dir, "server", "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile)
	want := "ERROR: --tls-cert " + certFile + " does not name 127.0.0.1, the host agents dial (--advertise-url, by default the listen address), so they would refuse it; " +
		"use a certificate for that host or advertise a host it names with --advertise-url: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("server with a certificate not naming its address: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	ws := startServer(t, "--listen", "127.0.0.1:"+port, "--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile,
		"--advertise-url", "https://localhost:"+port)
	if want := "https://localhost:" + port; ws.url != want {
		t.Errorf("the data folder's address is %s, want %s", ws.url, want)
	}
	var v struct{ Server json.RawMessage }
	if err := json.Unmarshal([]byte(ws.mustBerth(dir, "version", "-o", "json").stdout), &v); err != nil || len(v.Server) == 0 {
		t.Errorf("version through the data folder's address: %v", err)
	}
	var addr server.Address
	data, _ := os.ReadFile(filepath.Join(ws.home, server.AddressFile))
	if json.Unmarshal(data, &addr); addr.CAFile != caFile {
		t.Errorf("the data folder's CA file is %q, want %q", addr.CAFile, caFile)
	}
}
