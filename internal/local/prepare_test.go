package local

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "berth/api/v1"
	"berth/internal/jobrun"
)

func envMap(vars []string) map[string]string {
	m := map[string]string{}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestRankEnvironments(t *testing.T) {
	ranks, err := rankEnvironments(&v1.Distribution{Type: v1.DistributionMPI, ProcessCountPerInstance: 3})
	if err != nil || len(ranks) != 3 {
		t.Fatalf("mpi: %v, %d ranks", err, len(ranks))
	}
	if m := envMap(ranks[2]); m["OMPI_COMM_WORLD_RANK"] != "2" || m["OMPI_COMM_WORLD_SIZE"] != "3" || m["PMI_RANK"] != "2" {
		t.Errorf("mpi rank 2: %v", m)
	}

	ranks, err = rankEnvironments(&v1.Distribution{Type: v1.DistributionTensorFlow, WorkerCount: 2, ParameterServerCount: 1})
	if err != nil || len(ranks) != 3 {
		t.Fatalf("tensorflow: %v, %d ranks", err, len(ranks))
	}
	var cfg struct {
		Cluster map[string][]string `json:"cluster"`
		Task    struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
		} `json:"task"`
	}
	if err := json.Unmarshal([]byte(envMap(ranks[2])["TF_CONFIG"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Cluster["worker"]) != 2 || len(cfg.Cluster["ps"]) != 1 || cfg.Task.Type != "ps" || cfg.Task.Index != 0 {
		t.Errorf("TF_CONFIG of the third process: %+v", cfg)
	}

	ranks, err = rankEnvironments(&v1.Distribution{Type: v1.DistributionPyTorch, ProcessCountPerInstance: 2})
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := envMap(ranks[0]), envMap(ranks[1])
	if r0["MASTER_PORT"] == "" || r0["MASTER_PORT"] != r1["MASTER_PORT"] || r1["RANK"] != "1" || r1["WORLD_SIZE"] != "2" {
		t.Errorf("pytorch: %v %v", r0, r1)
	}

	if ranks, err := rankEnvironments(nil); err != nil || ranks != nil {
		t.Errorf("no distribution: %v %v", ranks, err)
	}
}

func TestEndState(t *testing.T) {
	status, jerr := endState(false, false, jobExit(""), serverRestarted)
	if status != v1.JobFailed || jerr.Code != v1.ErrCodeServerRestart {
		t.Errorf("no exit record after a restart: %s %+v", status, jerr)
	}
	status, jerr = endState(false, false, jobExit(""), runtimeDied)
	if status != v1.JobFailed || jerr.Code != v1.ErrCodeSystem {
		t.Errorf("no exit record from a live server: %s %+v", status, jerr)
	}
	if status, _ := endState(true, false, jobExit(""), runtimeDied); status != v1.JobCanceled {
		t.Errorf("canceled without record: %s", status)
	}
	if status, jerr := endState(false, true, jobExit("timeout"), runtimeDied); status != v1.JobFailed || jerr.Code != v1.ErrCodeTimeout {
		t.Errorf("timeout: %s %+v", status, jerr)
	}
	if status, jerr := endState(false, true, jobExit("completed"), runtimeDied); status != v1.JobCompleted || jerr != nil {
		t.Errorf("completed: %s %+v", status, jerr)
	}
}

func jobExit(reason string) jobrun.ExitStatus { return jobrun.ExitStatus{Reason: reason} }
