package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "berth/api/v1"
)

func openTest(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "berth.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func job(name string, status v1.JobStatus) *v1.Job {
	return &v1.Job{JobSpec: v1.JobSpec{Name: name, Command: "echo " + name, Compute: "local"}, Status: status}
}

func TestCreateGetAndDuplicate(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if err := s.CreateJob(ctx, job("a", v1.JobQueued)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(ctx, job("a", v1.JobQueued)); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate create: %v, want ErrExists", err)
	}
	got, err := s.GetJob(ctx, "a")
	if err != nil || got.Command != "echo a" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.GetJob(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func TestUpdateJobIsAllOrNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	s.CreateJob(ctx, job("a", v1.JobQueued))
	boom := errors.New("boom")
	_, err := s.UpdateJob(ctx, "a", func(j *v1.Job) error {
		j.Status = v1.JobRunning
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update error %v", err)
	}
	got, _ := s.GetJob(ctx, "a")
	if got.Status != v1.JobQueued {
		t.Fatalf("a failed update was written: %s", got.Status)
	}
	if _, err := s.UpdateJob(ctx, "missing", func(*v1.Job) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := range 7 {
		s.CreateJob(ctx, job(fmt.Sprintf("j%d", i), v1.JobQueued))
	}
	var names []string
	token := ""
	pages := 0
	for {
		jobs, next, err := s.ListJobs(ctx, Page{Limit: 3, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range jobs {
			names = append(names, j.Name)
		}
		if next == "" {
			break
		}
		token = next
	}
	if fmt.Sprint(names) != "[j6 j5 j4 j3 j2 j1 j0]" || pages != 3 {
		t.Fatalf("pages %d, names %v", pages, names)
	}
	if _, _, err := s.ListJobs(ctx, Page{Token: "x"}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestUnfinishedJobsOldestFirstAndSurviveReopen(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	s.CreateJob(ctx, job("done", v1.JobCompleted))
	s.CreateJob(ctx, job("run", v1.JobRunning))
	s.CreateJob(ctx, job("wait", v1.JobQueued))
	s.Close()
	s2, err := OpenSQLite(ctx, path) // migrations are applied once
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	jobs, err := s2.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Name != "run" || jobs[1].Name != "wait" {
		t.Fatalf("unfinished: %+v", jobs)
	}
}

// The store and its WAL files are the server user's alone, also when an older berth made
// the file readable by all.
func TestDatabaseFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateJob(context.Background(), job("j1", v1.JobQueued)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", filepath.Base(f), info.Mode(), err)
		}
	}
}
