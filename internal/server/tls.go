package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files of the generated self-signed pair, in the data folder.
const (
	selfSignedCert = "tls/server.crt"
	selfSignedKey  = "tls/server.key"
)

// selfSignedLifetime is how long a generated certificate lasts; the server makes a new one
// when fewer than 30 days are left or when it does not name the host agents dial.
const selfSignedLifetime = 365 * 24 * time.Hour

// tlsFiles are the server's TLS flags.
type tlsFiles struct {
	cert, key, ca string
	selfSigned    bool
}

// serverTLS is what loadTLS returns: the listener's configuration, and the certificate agents
// and the CLI pin (PEM, and the file it is in) when the server's is not publicly trusted.
type serverTLS struct {
	config *tls.Config
	caPEM  string
	caFile string
	// replaced says a self-signed certificate agents may already pin was replaced.
	replaced bool
}

// loadTLS returns the server's certificate: the given pair (checked to be valid at now, to
// name pinnedHost when there is one, and to be issued by the given CA, which agents then
// pin), or the data folder's self-signed pair for hosts (created or renewed as needed), which
// agents pin. No TLS flag gives a zero serverTLS, for HTTP.
func loadTLS(home string, f tlsFiles, hosts []string, pinnedHost string, now time.Time) (serverTLS, error) {
	if f.cert != "" {
		return loadGivenPair(f, pinnedHost, now)
	}
	if !f.selfSigned {
		return serverTLS{}, nil
	}
	certPath, keyPath := filepath.Join(home, selfSignedCert), filepath.Join(home, selfSignedKey)
	replaced := false
	if !selfSignedUsable(certPath, hosts, now) {
		_, err := os.Stat(certPath)
		replaced = err == nil
		if err := writeSelfSigned(certPath, keyPath, hosts, now); err != nil {
			return serverTLS{}, fmt.Errorf("generating a self-signed certificate: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return serverTLS{}, fmt.Errorf("loading the self-signed certificate %s: %w", certPath, err)
	}
	ca, err := os.ReadFile(certPath)
	if err != nil {
		return serverTLS{}, err
	}
	return serverTLS{config: serverConfig(pair), caPEM: string(ca), caFile: certPath, replaced: replaced}, nil
}

// loadGivenPair loads --tls-cert and --tls-key and checks them against the clock, the
// advertised host and --tls-ca.
func loadGivenPair(f tlsFiles, pinnedHost string, now time.Time) (serverTLS, error) {
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return serverTLS{}, optionErrorf("loading --tls-cert %s and --tls-key %s: %w; give a PEM certificate (chain) and its own private key", f.cert, f.key, err)
	}
	leaf := pair.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return serverTLS{}, optionErrorf("--tls-cert %s expired at %s; renew it", f.cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return serverTLS{}, optionErrorf("--tls-cert %s is not valid before %s; check this machine's clock or the certificate", f.cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if pinnedHost != "" {
		if err := leaf.VerifyHostname(pinnedHost); err != nil {
			return serverTLS{}, optionErrorf("--tls-cert %s does not name %s, the host of --advertise-url, so agents would refuse it; "+
				"use a certificate for that host or advertise a host it names: %v", f.cert, pinnedHost, err)
		}
	}
	out := serverTLS{config: serverConfig(pair)}
	if f.ca == "" {
		return out, nil
	}
	caPEM, err := os.ReadFile(f.ca)
	if err != nil {
		return serverTLS{}, optionErrorf("--tls-ca: %w; give the PEM certificate of the CA that issued --tls-cert", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return serverTLS{}, optionErrorf("--tls-ca %s holds no PEM certificate; give the certificate of the CA that issued --tls-cert", f.ca)
	}
	intermediates := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			intermediates.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}); err != nil {
		return serverTLS{}, optionErrorf("--tls-cert %s is not issued by --tls-ca %s (%v); give the CA that signed it, or its chain in --tls-cert", f.cert, f.ca, err)
	}
	if out.caFile, err = filepath.Abs(f.ca); err != nil {
		return serverTLS{}, err
	}
	out.caPEM = string(caPEM)
	return out, nil
}

func serverConfig(pair tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// selfSignedUsable reports whether the stored self-signed certificate exists, names every
// host, and has 30 days left.
func selfSignedUsable(certPath string, hosts []string, now time.Time) bool {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || now.Add(30*24*time.Hour).After(cert.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writeSelfSigned writes a new self-signed certificate for hosts, with its key (mode 0600).
func writeSelfSigned(certPath, keyPath string, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "berth server", Organization: []string{"berth"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// certHosts lists the names a self-signed certificate must cover: loopback, this machine's
// name, and the hosts of the listen and advertised addresses.
func certHosts(listenHost, advertiseHost string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	for _, h := range []string{listenHost, advertiseHost} {
		if h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
