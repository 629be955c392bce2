package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/syncbuf"
)

func TestRouterServesHTTPSAndReloadsItsKeyPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeKeyPair(t, certFile, keyFile, "first")

	// 1. The router starts on a free port with the first pair.
	addrs := make(chan net.Addr, 1)
	o := &routerOptions{listen: "127.0.0.1:0", tlsCert: certFile, tlsKey: keyFile, maxBody: 1 << 20,
		listening: func(a net.Addr) { addrs <- a }}
	logs := &syncbuf.Buffer{}
	g := &globalOptions{streams: Streams{In: strings.NewReader(""), Out: io.Discard, Err: logs}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.run(ctx, g) }()
	var base string
	select {
	case a := <-addrs:
		base = "https://" + a.String()
	case err := <-done:
		t.Fatalf("the router stopped at once: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the router did not listen within 10 seconds")
	}
	defer func() {
		if t.Failed() {
			t.Logf("router's log:\n%s", logs)
		}
	}()
	c := httpsClient(first)

	// 2. /healthz answers over HTTPS.
	status, body := send(t, c, http.MethodGet, base+"/healthz", nil)
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", status, body)
	}

	// 3. With no endpoint source yet, scoring is answered as for an unknown endpoint.
	status, body = send(t, c, http.MethodPost, base+"/api/v1/endpoint/iris/score", map[string]string{"x-request-id": "req-1"})
	want := `{"error":{"code":"EndpointNotFound","message":"endpoint iris not found","request_id":"req-1"}}` + "\n"
	if status != http.StatusNotFound || body != want {
		t.Errorf("POST /api/v1/endpoint/iris/score: %d %q, want 404 %q", status, body, want)
	}

	// 4. /metrics counts it.
	status, body = send(t, c, http.MethodGet, base+"/metrics", nil)
	if status != http.StatusOK || !strings.Contains(body, `berth_router_requests_total{code="404",deployment="",endpoint=""} 1`) {
		t.Errorf("GET /metrics: %d\n%s", status, body)
	}

	// 5. A renewed pair is served from the next connection on (reloadEvery is 0 here).
	second := writeKeyPair(t, certFile, keyFile, "second")
	conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool(second)})
	if err != nil {
		t.Fatalf("connecting after the pair was renewed: %v", err)
	}
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Errorf("served certificate %q after renewal, want second", cn)
	}
	conn.Close()

	// 6. The end of the context (SIGTERM, in Main) stops it cleanly.
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after the context ended, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the router did not stop within 15 seconds")
	}
}

func TestRouterAndOperatorRefuseBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "cert.pem")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"certificate without key", []string{"router", "--tls-cert", "cert.pem"},
			"--tls-cert needs --tls-key: give the certificate's private key too, or neither flag to serve HTTP"},
		{"key without certificate", []string{"router", "--tls-key", "key.pem"},
			"--tls-key needs --tls-cert: give the certificate too, or neither flag to serve HTTP"},
		{"missing certificate", []string{"router", "--tls-cert", missing, "--tls-key", missing},
			"--tls-cert " + missing + " and --tls-key " + missing + ": stat " + missing + ": no such file or directory; give a PEM certificate and its own private key"},
		{"listen without port", []string{"router", "--listen", "127.0.0.1"},
			`--listen "127.0.0.1" is not an address such as 127.0.0.1:8080 (port 0 picks a free one): address 127.0.0.1: missing port in address`},
		{"router argument", []string{"router", "extra"},
			`berth router takes no arguments, but got "extra"; see berth router --help`},
		{"namespace not a name", []string{"operator", "--namespace", "Team_A"},
			`--namespace "Team_A" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"metrics address without port", []string{"operator", "--metrics-addr", "localhost"},
			`--metrics-addr "localhost" is not an address such as :8080, or 0 for none: address localhost: missing port in address`},
		{"health address without port", []string{"operator", "--health-addr", "8081"},
			`--health-addr "8081" is not an address such as :8081: address 8081: missing port in address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := Main(tt.args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
			if code != ExitUsage || errs.String() != "ERROR: "+tt.want+"\n" || out.Len() != 0 {
				t.Errorf("exit %d, stderr %q, stdout %q\nwant exit 2, stderr %q", code, errs.String(), out.String(), "ERROR: "+tt.want+"\n")
			}
		})
	}
}

func TestRouterListensOnThePodIP(t *testing.T) {
	t.Setenv("POD_IP", "")
	if got := defaultRouterListen(); got != "127.0.0.1:8080" {
		t.Errorf("without POD_IP: %s", got)
	}
	t.Setenv("POD_IP", "10.1.2.3")
	if got := defaultRouterListen(); got != "10.1.2.3:8080" {
		t.Errorf("POD_IP 10.1.2.3: %s", got)
	}
	t.Setenv("POD_IP", "fd00::7")
	if got := defaultRouterListen(); got != "[fd00::7]:8080" {
		t.Errorf("POD_IP fd00::7: %s", got)
	}
}

// writeKeyPair writes a new self-signed certificate for 127.0.0.1 named cn and its key,
// each replacing its file at once, and returns the certificate.
func writeKeyPair(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func httpsClient(trusted *x509.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool(trusted)}}}
}

func send(t *testing.T, c *http.Client, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}
