package store

import (
	"context"
	"errors"
	"testing"

	v1 "berth/api/v1"
)

func TestModelsVersionsAndLatest(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, v := range []string{"1", "2", "10"} {
		if err := s.CreateModel(ctx, &v1.Model{Name: "iris", Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	s.CreateModel(ctx, &v1.Model{Name: "other", Version: "1"})
	if err := s.CreateModel(ctx, &v1.Model{Name: "iris", Version: "2"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate version: %v", err)
	}
	latest, err := s.LatestModel(ctx, "iris")
	if err != nil || latest.Version != "10" {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	if _, err := s.GetModel(ctx, "iris", "3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	models, _, err := s.ListModels(ctx, "iris", Page{})
	if err != nil || len(models) != 3 || models[0].Version != "10" {
		t.Fatalf("list: %+v %v", models, err)
	}
}

func TestEndpointsAndDeployments(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ep := &v1.OnlineEndpoint{OnlineEndpointSpec: v1.OnlineEndpointSpec{Name: "web", AuthMode: v1.AuthKey}}
	if err := s.CreateEndpoint(ctx, ep, "sealed-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEndpoint(ctx, ep, "x"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate endpoint: %v", err)
	}
	dep := &v1.OnlineDeployment{OnlineDeploymentSpec: v1.OnlineDeploymentSpec{Name: "blue", EndpointName: "web"}}
	if err := s.CreateDeployment(ctx, dep); err != nil {
		t.Fatal(err)
	}
	orphan := &v1.OnlineDeployment{OnlineDeploymentSpec: v1.OnlineDeploymentSpec{Name: "blue", EndpointName: "none"}}
	if err := s.CreateDeployment(ctx, orphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deployment of a missing endpoint: %v", err)
	}
	// The change sees the deployments, and an error leaves the endpoint as it was.
	_, err := s.UpdateEndpoint(ctx, "web", func(e *v1.OnlineEndpoint, deps []v1.OnlineDeployment) error {
		if len(deps) != 1 || deps[0].Name != "blue" {
			t.Errorf("deployments seen by the change: %+v", deps)
		}
		e.Traffic = map[string]int{"blue": 100}
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("update error lost")
	}
	got, _ := s.GetEndpoint(ctx, "web")
	if len(got.Traffic) != 0 {
		t.Fatalf("a refused update was written: %+v", got.Traffic)
	}
	if err := s.SetEndpointKeys(ctx, "web", "sealed-2"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.EndpointKeys(ctx, "web"); keys != "sealed-2" {
		t.Fatalf("keys: %q", keys)
	}
	if err := s.DeleteEndpoint(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if deps, _ := s.ListDeployments(ctx, ""); len(deps) != 0 {
		t.Fatalf("deployments outlived their endpoint: %+v", deps)
	}
	if err := s.DeleteEndpoint(ctx, "web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
