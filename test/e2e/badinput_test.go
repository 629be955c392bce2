package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadJobsAreRefusedAndNothingIsStored submits each bad job through the CLI and checks
// the exact message, the exit code, and that the workspace holds no job and no file after.
func TestBadJobsAreRefusedAndNothingIsStored(t *testing.T) {
	w := startServer(t)
	tests := []struct {
		name string
		yaml string
		args []string
		code int
		want string
	}{
		{"invalid YAML with its line", "command: echo hi\n  bad: [indent\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 2: invalid YAML: mapping values are not allowed in this context; quote a value that contains \": \", or check the indentation\n"},
		{"unknown field with the closest name", "comand: echo hi\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 1: unknown field \"comand\"; did you mean \"command\"?\n"},
		{"missing command", "name: x\n", nil, 2,
			"ERROR: job.yml is not a valid job:\ncommand: the job has no command; add one, such as command: python train.py\n"},
		{"expression naming an undeclared input", "command: echo ${{inputs.nope}}\ninputs:\n  epochs: 3\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 1: command: ${{inputs.nope}} names an undeclared input; declare nope under inputs, or use one of: epochs\n"},
		{"expression naming an undeclared output", "command: echo ${{outputs.model}}\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 1: command: ${{outputs.model}} names an undeclared output; declare model under outputs (the job declares none)\n"},
		{"input path that does not exist", "command: cat ${{inputs.data}}\ninputs:\n  data:\n    type: uri_file\n    path: ./missing.csv\n", nil, 2,
			"ERROR: inputs.data: path ./missing.csv does not exist (looked for DIR/missing.csv, relative to the job file's folder)\n"},
		{"unknown compute", "command: echo hi\ncompute: azureml:gpu-cluster\n", nil, 2,
			"ERROR: compute \"gpu-cluster\" not found; this workspace has: local (see berth compute list)\n"},
		{"two instances on local", "command: echo hi\nresources:\n  instance_count: 2\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 3: resources.instance_count: compute local runs one instance, not 2; set instance_count to 1, or run on a Kubernetes compute (compute: azureml:<name>)\n"},
		{"negative timeout", "command: echo hi\nlimits:\n  timeout: -5\n", nil, 2,
			"ERROR: job.yml is not a valid job:\nline 3: limits.timeout: expected a positive whole number of seconds, such as 3600, found -5\n"},
		{"negative timeout through --set", "command: echo hi\n", []string{"--set", "limits.timeout=-1"}, 2,
			"ERROR: job.yml is not a valid job:\nlimits.timeout: expected a positive whole number of seconds, such as 3600, found -1\n"},
		{"missing --file", "", []string{"--file", ""}, 2,
			"ERROR: --file/-f is required: the job's YAML file\n"},
		{"unknown flag", "command: echo hi\n", []string{"--nope"}, 2,
			"ERROR: unknown flag: --nope\nRun the command with --help to see its usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.yaml, nil)
			r := w.berth(dir, append([]string{"job", "create", "-f", "job.yml"}, tt.args...)...)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if r.code != tt.code || r.stderr != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", r.code, r.stderr, tt.code, want)
			}
		})
	}
	r := w.mustBerth(t.TempDir(), "job", "list", "-o", "tsv", "--query", "length(@)")
	if strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("jobs stored after bad input: %s", r.stdout)
	}
	if entries, _ := os.ReadDir(filepath.Join(w.home, "artifacts")); len(entries) != 0 {
		t.Errorf("artifacts stored after bad input: %v", entries)
	}
}

func TestCLIConventions(t *testing.T) {
	w := startServer(t)
	dir := t.TempDir()
	w.createJob("command: echo hi\ndisplay_name: greet\n", nil, "--name", "conv")
	w.waitJob("conv", 20*time.Second, terminal)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"ml", "job", "show", "-n", "conv", "-g", "rg", "-w", "default", "--subscription", "sub", "--query", "display_name", "-o", "tsv"}, 0, "greet\n", ""},
		{[]string{"job", "show", "-n", "missing"}, 3, "", "ERROR: job missing not found; see berth job list\n"},
		{[]string{"job", "show", "-n", "conv", "-w", "other"}, 2, "", "ERROR: --workspace-name \"other\" does not match this server's workspace \"default\"\n"},
		{[]string{"job", "show"}, 2, "", "ERROR: --name/-n is required: the job's name (see berth job list)\n"},
		{[]string{"job", "list", "-r", "0"}, 2, "", "ERROR: --max-results must be at least 1, not 0\n"},
		{[]string{"job", "download", "-n", "conv", "--output-name", "nope"}, 3, "", "ERROR: job conv has no output named \"nope\"; its outputs are: default\n"},
		{[]string{"compute", "list", "-o", "table"}, 0, "Name   Type   State\n----   ----   -----\nlocal  local  Succeeded\n", ""},
		{[]string{"compute", "show", "-n", "gpu"}, 3, "", "ERROR: compute \"gpu\" not found; this workspace has: local (see berth compute list)\n"},
		{[]string{"job", "list", "-o", "xml"}, 2, "", "ERROR: --output \"xml\" is not a format; use json, yaml, table, tsv or none\n"},
		{[]string{"job", "show", "conv"}, 2, "", "ERROR: berth job show takes no arguments; give the name with --name/-n conv\n"},
		{[]string{"job", "stream", "-n", "conv", "--query", "x"}, 2, "", "ERROR: berth job stream prints text; -o and --query do not apply to it\n"},
		{[]string{"online-endpoint", "update", "-n", "nope", "--traffic", "blue=50"}, 2, "", "ERROR: --traffic \"blue=50\": the percentages add up to 50; make them add up to 100, or to 0 to send no traffic\n"},
		{[]string{"online-endpoint", "update", "-n", "nope", "--traffic", "blue=100", "--set", "traffic.blue=0"}, 2, "", "ERROR: give --traffic or --set traffic, not both\n"},
		{[]string{"cluster", "connect", "--name", "c1", "--host-binary", "bin/berth"}, 2, "", "ERROR: --host-binary \"bin/berth\" is not an executable file at an absolute path; give the berth binary the test cluster's nodes run, such as $PWD/bin/berth\n"},
		{[]string{"cluster", "connect", "--name", "c1", "--host-binary", dir}, 2, "", "ERROR: --host-binary \"" + dir + "\" is not an executable file at an absolute path; give the berth binary the test cluster's nodes run, such as $PWD/bin/berth\n"},
		{[]string{"server", "--listen", "nonsense"}, 2, "", "ERROR: --listen \"nonsense\" is not an address such as 127.0.0.1:8080 (port 0 picks a free one): address nonsense: missing port in address\n"},
		{[]string{"server", "--tls-cert", "cert.pem"}, 2, "", "ERROR: --tls-cert and --tls-key go together; give both, or --tls-self-signed for a generated pair\n"},
		{[]string{"server", "--tls-ca", "ca.pem", "--tls-self-signed"}, 2, "", "ERROR: --tls-ca is the CA that issued --tls-cert; give it with --tls-cert and --tls-key (--tls-self-signed needs none)\n"},
		{[]string{"server", "--home", filepath.Join(dir, "tls-home"), "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--tls-cert", "missing.pem", "--tls-key", "missing.pem"}, 2, "",
			"ERROR: loading --tls-cert missing.pem and --tls-key missing.pem: open missing.pem: no such file or directory; give a PEM certificate (chain) and its own private key\n"},
		{[]string{"server", "--home", filepath.Join(dir, "tls-home"), "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--tls-self-signed", "--advertise-url", "http://berth.example.com:8080"}, 2, "",
			"ERROR: --advertise-url \"http://berth.example.com:8080\" says http, but the server serves https; make them agree (--tls-cert, --tls-self-signed)\n"},
		{[]string{"server", "--home", filepath.Join(dir, "tls-home"), "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--tls-self-signed", "--advertise-url", "https://berth.example.com:99999"}, 2, "",
			"ERROR: --advertise-url \"https://berth.example.com:99999\": port 99999 is not a number from 1 to 65535\n"},
		{[]string{"server", "--home", filepath.Join(dir, "tls-home"), "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--tls-self-signed", "--advertise-url", "https://bérth.example.com"}, 2, "",
			"ERROR: --advertise-url \"https://bérth.example.com\": host \"bérth.example.com\" is not a DNS name or IP address (write an international name in its xn-- form)\n"},
	}
	for _, tt := range tests {
		r := w.berth(dir, tt.args...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
			t.Errorf("berth %s:\nexit %d stdout %q stderr %q\nwant exit %d stdout %q stderr %q",
				strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
	r := w.mustBerth(dir, "version", "-o", "json")
	if !strings.Contains(r.stdout, `"client"`) || !strings.Contains(r.stdout, `"server"`) {
		t.Errorf("version: %s", r.stdout)
	}
}

// TestAPIRefusesBadRequests speaks HTTP to the server directly, as a client other than the
// CLI would.
func TestAPIRefusesBadRequests(t *testing.T) {
	w := startServer(t)
	multipartBody := func(parts ...[2]string) (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, p := range parts {
			fw, _ := mw.CreateFormField(p[0])
			fw.Write([]byte(p[1]))
		}
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	tests := []struct {
		name, method, path, token string
		body                      func() (io.Reader, string)
		status                    int
		message                   string
	}{
		{"no token", "GET", "/api/v1/jobs", "-", nil, 401,
			"missing or wrong bearer token; the CLI reads it from BERTH_TOKEN or the server's data folder (token file)"},
		{"wrong token", "GET", "/api/v1/jobs", "nope", nil, 401,
			"missing or wrong bearer token; the CLI reads it from BERTH_TOKEN or the server's data folder (token file)"},
		{"unknown route", "GET", "/api/v1/nothing", "", nil, 404,
			"no API route GET /api/v1/nothing; see ARCHITECTURE.md for the routes"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", "", nil, 400, `limit must be a whole number from 1 to 1000, not "0"`},
		{"bad page token", "GET", "/api/v1/jobs?page_token=zz", "", nil, 400, `page_token "zz" is not one this server gave; start again without it`},
		{"not multipart", "POST", "/api/v1/jobs", "", func() (io.Reader, string) { return strings.NewReader("{}"), "application/json" }, 400,
			"the body must be multipart/form-data with a first part named \"spec\": request Content-Type isn't multipart/form-data"},
		{"spec is not the first part", "POST", "/api/v1/jobs", "", func() (io.Reader, string) { return multipartBody([2]string{"code", "x"}) }, 400,
			`the first part of the body must be "spec", not "code"`},
		{"unknown spec field", "POST", "/api/v1/jobs", "", func() (io.Reader, string) { return multipartBody([2]string{"spec", `{"yml":"x"}`}) }, 400,
			`the spec is not a valid request: json: unknown field "yml"; send JSON such as {"yaml": "<the file>", "name": "<optional>", "set": ["path=value"]}`},
		{"local input not uploaded", "POST", "/api/v1/jobs", "", func() (io.Reader, string) {
			return multipartBody([2]string{"spec", `{"yaml":"command: cat ${{inputs.d}}\ninputs:\n  d:\n    type: uri_file\n    path: d.csv\n"}`})
		}, 400, `inputs.d: local path d.csv was not uploaded; send it as a tar stream in the multipart part "inputs.d"`},
		{"upload that is not a tar", "POST", "/api/v1/jobs", "", func() (io.Reader, string) {
			return multipartBody([2]string{"spec", `{"yaml":"command: ls\ncode: src\n"}`}, [2]string{"code", "not a tar archive, just text that is long enough to fill a header block................................................................................................................................................................................................................................................................................................................................................................................................................................................................"})
		}, 400, `upload part "code" must be a tar stream of the files of src: reading archive: archive/tar: invalid tar header`},
		{"cancel unknown job", "POST", "/api/v1/jobs/nope/cancel", "", nil, 404, "job nope not found; see berth job list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			ct := ""
			if tt.body != nil {
				body, ct = tt.body()
			}
			req, _ := http.NewRequestWithContext(context.Background(), tt.method, w.url+tt.path, body)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			switch tt.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+w.token)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.status || e.Error.Message != tt.message {
				t.Errorf("status %d message %q, want %d %q", resp.StatusCode, e.Error.Message, tt.status, tt.message)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(w.home, "artifacts", "jobs")); len(entries) != 0 {
		t.Errorf("artifacts left after refused uploads: %v", entries)
	}
}

func TestLocalComputeLimits(t *testing.T) {
	w := startServer(t)
	tests := []struct {
		name, yaml, want string
	}{
		{"too many processes", "command: echo hi\ndistribution:\n  type: pytorch\n  process_count_per_instance: 100000\n",
			"ERROR: distribution: the job asks for 100000 processes, but the local compute runs at most 64 per job; lower it, or run on a Kubernetes compute\n"},
		{"command too long", "command: echo " + strings.Repeat("x", 140000) + "\n",
			"ERROR: command: the command is 140005 bytes, longer than a process accepts (131072); put it in a script in the code folder and run that\n"},
		{"uri_folder naming a file", "command: ls ${{inputs.d}}\ninputs:\n  d:\n    type: uri_folder\n    path: job.yml\n",
			"ERROR: inputs.d: job.yml is a file, but the input's type is uri_folder; use type: uri_file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.berth(writeFiles(t, tt.yaml, nil), "job", "create", "-f", "job.yml")
			if r.code != 2 || r.stderr != tt.want {
				t.Errorf("exit %d, stderr %q\nwant %q", r.code, r.stderr, tt.want)
			}
		})
	}
	dir := t.TempDir()
	r := w.berth(dir, "job", "frobnicate")
	if r.code != 2 || r.stderr != "ERROR: unknown command \"frobnicate\" for \"berth job\"; see berth job --help\n" {
		t.Errorf("unknown subcommand: %d %q", r.code, r.stderr)
	}
	r = w.berth(dir, "job", "list", "--server", "notaurl")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "ERROR: server address \"notaurl\" is not a URL such as http://127.0.0.1:8080") {
		t.Errorf("--server notaurl: %d %q", r.code, r.stderr)
	}
	r = w.berth(dir, "job", "list", "-o", "xml")
	if r.code != 2 {
		t.Errorf("-o xml: %d", r.code)
	}
}

func TestOneServerPerDataFolder(t *testing.T) {
	w := startServer(t)
	cmd := exec.Command(filepath.Join(binDir, "berth"), "server", "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "BERTH_HOME="+w.home)
	out, err := cmd.CombinedOutput()
	want := fmt.Sprintf("ERROR: data folder %s is in use by the berth server with pid %d (%s); stop that server, or give this one another data folder with --home or BERTH_HOME\n", w.home, w.cmd.Process.Pid, w.url)
	if err == nil || string(out) != want {
		t.Errorf("second server: %v\n%s\nwant %q", err, out, want)
	}
}
