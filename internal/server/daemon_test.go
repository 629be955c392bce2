package server

import (
	"net"
	neturl "net/url"
	"testing"
)

func TestAdvertiseURL(t *testing.T) {
	tests := []struct {
		given, listen, want, err string
	}{
		{"", "127.0.0.1:8080", "https://127.0.0.1:8080", ""},
		{"https://berth.example.com:8443/", "127.0.0.1:8080", "https://berth.example.com:8443", ""},
		{"https://[::1]:8443", "127.0.0.1:8080", "https://[::1]:8443", ""},
		{"https://xn--brth-bpa.example.com", "127.0.0.1:8080", "https://xn--brth-bpa.example.com", ""},
		{"https://berth.example.com:0", "127.0.0.1:8080", "", `--advertise-url "https://berth.example.com:0": port 0 is not a number from 1 to 65535`},
		{"https://bérth.example.com", "127.0.0.1:8080", "", `--advertise-url "https://bérth.example.com": host "bérth.example.com" is not a DNS name or IP address (write an international name in its xn-- form)`},
		{"https://berth.example.com/api", "127.0.0.1:8080", "", `--advertise-url "https://berth.example.com/api" is not a URL such as https://berth.example.com:8080 (scheme, host and port only)`},
		{"https://user:pw@berth.example.com", "127.0.0.1:8080", "", `--advertise-url "https://user:pw@berth.example.com" is not a URL such as https://berth.example.com:8080 (scheme, host and port only)`},
		{"https://berth.example.com?x=1", "127.0.0.1:8080", "", `--advertise-url "https://berth.example.com?x=1" is not a URL such as https://berth.example.com:8080 (scheme, host and port only)`},
	}
	for _, tt := range tests {
		got, err := advertiseURL(tt.given, "https", tt.listen)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("advertiseURL(%q) = %q, %v; want %q, %q", tt.given, got, err, tt.want, tt.err)
		}
	}
}

// An accepted --advertise-url is a URL of scheme, host and port alone, in the server's scheme.
func FuzzAdvertiseURL(f *testing.F) {
	for _, s := range []string{"https://berth.example.com:8443/", "https://[::1]:8443", "https://bérth.example.com",
		"https://user:pw@h", "http://h:99999", "https://h?x", "https://h/#f", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, given string) {
		got, err := advertiseURL(given, "https", "127.0.0.1:8080")
		if err != nil {
			return
		}
		u, perr := neturl.Parse(got)
		if perr != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			t.Fatalf("advertiseURL(%q) accepted %q", given, got)
		}
	})
}

func TestLocalAddr(t *testing.T) {
	for addr, want := range map[string]string{"0.0.0.0:8080": "127.0.0.1:8080", "[::]:8080": "127.0.0.1:8080",
		"127.0.0.1:8080": "127.0.0.1:8080", "[::1]:8443": "[::1]:8443", "10.1.2.3:80": "10.1.2.3:80"} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := localAddr(a); got != want {
			t.Errorf("localAddr(%s) = %s, want %s", addr, got, want)
		}
	}
}
