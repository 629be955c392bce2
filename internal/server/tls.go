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

// loadTLS returns the server's certificate: the given pair, or the data folder's self-signed
// pair for hosts (created or renewed as needed). caPEM is the certificate agents pin: the
// self-signed one, or "" for a given pair (whose CA agents are expected to trust).
func loadTLS(home, certFile, keyFile string, selfSigned bool, hosts []string, now time.Time) (cfg *tls.Config, caPEM string, err error) {
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, "", fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", certFile, keyFile, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, "", nil
	}
	if !selfSigned {
		return nil, "", nil
	}
	certPath, keyPath := filepath.Join(home, selfSignedCert), filepath.Join(home, selfSignedKey)
	if !selfSignedUsable(certPath, hosts, now) {
		if err := writeSelfSigned(certPath, keyPath, hosts, now); err != nil {
			return nil, "", fmt.Errorf("generating a self-signed certificate: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, "", fmt.Errorf("loading the self-signed certificate %s: %w", certPath, err)
	}
	ca, err := os.ReadFile(certPath)
	if err != nil {
		return nil, "", err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, string(ca), nil
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
