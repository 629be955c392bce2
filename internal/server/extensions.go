package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/extension"
	"berth/internal/store"
)

// extensionNamePattern keeps an extension's name usable as its Helm release's name.
var extensionNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

const maxExtensionName = 53 // Helm's limit for release names

// defaultReleaseNamespace is where the extension installs unless told otherwise.
const defaultReleaseNamespace = "berth"

const extensionExample = `{"extensionType": "berth.ml", "scope": "cluster", "configurationSettings": {"enableTraining": "True"}, "configurationProtectedSettings": {}}`

// checkExtensionRequest checks what a create asks for apart from its settings.
func checkExtensionRequest(name string, req *v1.ExtensionRequest) error {
	var problems []string
	if len(name) > maxExtensionName || !extensionNamePattern.MatchString(name) {
		problems = append(problems, fmt.Sprintf("extension name %q is not valid: use 1 to %d lowercase letters, digits and '-', starting and ending with a letter or digit", name, maxExtensionName))
	}
	switch {
	case strings.EqualFold(req.ExtensionType, v1.ExtensionType), strings.EqualFold(req.ExtensionType, v1.ExtensionTypeAzure):
	case req.ExtensionType == "":
		problems = append(problems, fmt.Sprintf("an extension type is needed; pass --extension-type %s", v1.ExtensionType))
	default:
		problems = append(problems, fmt.Sprintf("extension type %q is not one berth installs; use %s (or its alias %s)", req.ExtensionType, v1.ExtensionType, v1.ExtensionTypeAzure))
	}
	switch {
	case req.Scope == "" || strings.EqualFold(req.Scope, "cluster"):
	case strings.EqualFold(req.Scope, "namespace"):
		problems = append(problems, "scope namespace is not supported: the ML extension serves the whole cluster; use --scope cluster")
	default:
		problems = append(problems, fmt.Sprintf("scope %q is not valid; use --scope cluster", req.Scope))
	}
	switch ns := req.ReleaseNamespace; {
	case ns == "":
	case len(ns) > 63 || !extensionNamePattern.MatchString(ns):
		problems = append(problems, fmt.Sprintf("release namespace %q is not a valid namespace name: use 1 to 63 lowercase letters, digits and '-'", ns))
	case ns == "default" || strings.HasPrefix(ns, "kube-"):
		problems = append(problems, fmt.Sprintf("release namespace %q belongs to Kubernetes; leave --release-namespace out (berth) or name a namespace of the extension's own", ns))
	}
	if len(problems) > 0 {
		return badRequest("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// checkSettings validates settings as DESIGN.md's table says, against the cluster's last
// inventory, and returns the notices to show.
func checkSettings(plain, protected map[string]string, inv *v1.Inventory) ([]v1.ExtensionStatus, error) {
	cfg, notices, err := extension.Parse(plain, protected)
	if err != nil {
		return nil, settingsError(err)
	}
	more, err := extension.Check(&cfg, inv)
	if err != nil {
		return nil, settingsError(err)
	}
	return extension.Statuses(append(notices, more...), nil), nil
}

// settingsError is the API's answer to settings that fail validation: every problem, one per
// line.
func settingsError(err error) error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidExtensionSettings",
		Message: "invalid extension settings:\n" + err.Error()}
}

func (s *Server) createExtension(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	clusterName, name := r.PathValue("cluster"), r.PathValue("name")
	var req v1.ExtensionRequest
	if err := decodeJSON(r, 1<<20, &req, extensionExample); err != nil {
		return err
	}
	c, err := s.cluster(ctx, clusterName)
	if err != nil {
		return err
	}
	if err := checkExtensionRequest(name, &req); err != nil {
		return err
	}
	statuses, err := checkSettings(req.ConfigurationSettings, req.ProtectedSettings, c.Inventory)
	if err != nil {
		return err
	}
	existing, err := s.Store.ListExtensions(ctx, clusterName)
	if err != nil {
		return internal(err)
	}
	if len(existing) > 0 {
		return conflict("cluster %s already has the ML extension %s; change it with `berth k8s-extension update --name %s`, or delete it first",
			clusterName, existing[0].Name, existing[0].Name)
	}
	sealed, err := s.sealSettings(req.ProtectedSettings)
	if err != nil {
		return internal(err)
	}
	now := s.Now().UTC()
	e := &v1.Extension{Name: name, ExtensionType: canonicalExtensionType(req.ExtensionType),
		ClusterName: clusterName, ClusterType: c.ClusterType, ResourceGroup: c.ResourceGroup,
		Scope: "cluster", ReleaseNamespace: cmpOr(req.ReleaseNamespace, defaultReleaseNamespace),
		InstallState: v1.InstallPending, ConfigurationSettings: orEmpty(req.ConfigurationSettings),
		ProtectedSettings: slices.Sorted(maps.Keys(req.ProtectedSettings)), Statuses: statuses,
		Components: []v1.Component{}, Generation: 1, CreatedAt: now, UpdatedAt: now}
	err = s.Store.CreateExtension(ctx, e, sealed)
	switch {
	case errors.Is(err, store.ErrExists):
		return conflict("extension %s already exists on cluster %s; change it with `berth k8s-extension update`", name, clusterName)
	case errors.Is(err, store.ErrNotFound):
		return notFound("cluster %q was deleted meanwhile", clusterName)
	case err != nil:
		return internal(err)
	}
	s.Log.Info("extension created", "cluster", clusterName, "extension", name)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// canonicalExtensionType keeps the type the user named, spelled as berth spells it.
func canonicalExtensionType(t string) string {
	if strings.EqualFold(t, v1.ExtensionTypeAzure) {
		return v1.ExtensionTypeAzure
	}
	return v1.ExtensionType
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *Server) sealSettings(protected map[string]string) (string, error) {
	data, err := json.Marshal(orEmpty(protected))
	if err != nil {
		return "", err
	}
	return s.Box.Seal(data), nil
}

func (s *Server) openSettings(sealed string) (map[string]string, error) {
	data, err := s.Box.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("opening protected settings: %w", err)
	}
	var m map[string]string
	return m, json.Unmarshal(data, &m)
}

// updateExtension changes settings in place: given plain settings replace the ones of the
// same key; protected settings, which berth never returns, must all be given again when the
// extension has any; a nodeSelector may change but not go away, since workloads already
// placed by it would be left where they are.
func (s *Server) updateExtension(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	clusterName, name := r.PathValue("cluster"), r.PathValue("name")
	var req v1.ExtensionRequest
	if err := decodeJSON(r, 1<<20, &req, extensionExample); err != nil {
		return err
	}
	c, err := s.cluster(ctx, clusterName)
	if err != nil {
		return err
	}
	if req.ExtensionType != "" || req.Scope != "" || req.ReleaseNamespace != "" {
		return badRequest("the extension type, scope and release namespace cannot change; delete the extension and create it again")
	}
	e, err := s.Store.UpdateExtension(ctx, clusterName, name, func(e *v1.Extension, sealed *string) error {
		if e.InstallState == v1.InstallDeleting {
			return conflict("extension %s is being deleted; once `berth k8s-extension show` finds it gone, create it again", name)
		}
		plain := maps.Clone(e.ConfigurationSettings)
		maps.Copy(plain, req.ConfigurationSettings)
		var problems []string
		isSet := func(k string) bool {
			_, inPlain := e.ConfigurationSettings[k]
			return inPlain || slices.Contains(e.ProtectedSettings, k)
		}
		for _, given := range []map[string]string{req.ConfigurationSettings, req.ProtectedSettings} {
			for k, v := range given {
				switch {
				case v != "":
				case !isSet(k):
					problems = append(problems, fmt.Sprintf("%s is not set, so %s= removes nothing; see the extension's settings with `berth k8s-extension show`", k, k))
				case strings.HasPrefix(k, "nodeSelector."):
					problems = append(problems, fmt.Sprintf("%s cannot be removed by update (workloads it placed would stay where they are); delete the extension and create it again without it", k))
				}
			}
		}
		protected := req.ProtectedSettings
		if len(protected) == 0 && len(e.ProtectedSettings) > 0 {
			problems = append(problems, fmt.Sprintf("berth never returns protected settings, so an update must give them again (an empty value removes one): pass --config-protected %s",
				strings.Join(keyHints(e.ProtectedSettings), " ")))
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			return badRequest("%s", strings.Join(slices.Compact(problems), "\n"))
		}
		// key= removes a setting.
		maps.DeleteFunc(plain, func(_, v string) bool { return v == "" })
		protected = maps.Clone(protected)
		maps.DeleteFunc(protected, func(_, v string) bool { return v == "" })
		for k := range protected {
			if _, given := req.ConfigurationSettings[k]; !given {
				delete(plain, k) // a key moved from plain to protected
			}
			// One given both ways in this request stays in both, and checkSettings refuses it.
		}
		statuses, err := checkSettings(plain, protected, c.Inventory)
		if err != nil {
			return err
		}
		if *sealed, err = s.sealSettings(protected); err != nil {
			return internal(err)
		}
		e.ConfigurationSettings = plain
		e.ProtectedSettings = slices.Sorted(maps.Keys(protected))
		e.Statuses = statuses
		e.Generation++
		e.InstallState = v1.InstallPending
		e.UpdatedAt = s.Now().UTC()
		return nil
	})
	if err != nil {
		return s.extensionError(err, c, name)
	}
	s.Log.Info("extension updated", "cluster", clusterName, "extension", name, "generation", e.Generation)
	writeJSON(w, http.StatusOK, e)
	return nil
}

func keyHints(keys []string) []string {
	hints := make([]string, len(keys))
	for i, k := range keys {
		hints[i] = k + "=<value>"
	}
	return hints
}

// extensionError maps a store error about an extension of cluster c to the API's answer.
func (s *Server) extensionError(err error, c *v1.Cluster, name string) error {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, store.ErrNotFound):
		return notFound("extension %s not found on cluster %s; see `berth k8s-extension list --cluster-type %s --cluster-name %s`", name, c.Name, c.ClusterType, c.Name)
	}
	return internal(err)
}

func (s *Server) getExtension(w http.ResponseWriter, r *http.Request) error {
	clusterName, name := r.PathValue("cluster"), r.PathValue("name")
	c, err := s.cluster(r.Context(), clusterName)
	if err != nil {
		return err
	}
	e, _, err := s.Store.GetExtension(r.Context(), clusterName, name)
	if err != nil {
		return s.extensionError(err, c, name)
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) listExtensions(w http.ResponseWriter, r *http.Request) error {
	clusterName := r.PathValue("cluster")
	if _, err := s.cluster(r.Context(), clusterName); err != nil {
		return err
	}
	list, err := s.Store.ListExtensions(r.Context(), clusterName)
	if err != nil {
		return internal(err)
	}
	writeJSON(w, http.StatusOK, v1.List[v1.Extension]{Value: list})
	return nil
}

// deleteExtension marks the extension Deleting; the agent uninstalls its release and reports
// it removed, and the server forgets it then.
func (s *Server) deleteExtension(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	clusterName, name := r.PathValue("cluster"), r.PathValue("name")
	c, err := s.cluster(ctx, clusterName)
	if err != nil {
		return err
	}
	e, err := s.Store.UpdateExtension(ctx, clusterName, name, func(e *v1.Extension, _ *string) error {
		if e.InstallState != v1.InstallDeleting {
			e.InstallState = v1.InstallDeleting
			e.Generation++
			e.UpdatedAt = s.Now().UTC()
		}
		return nil
	})
	if err != nil {
		return s.extensionError(err, c, name)
	}
	s.Log.Info("extension deleting", "cluster", clusterName, "extension", name)
	writeJSON(w, http.StatusAccepted, e)
	return nil
}

// agentReport takes an agent's heartbeat, inventory and extension states, and answers with
// what the cluster should run.
func (s *Server) agentReport(w http.ResponseWriter, r *http.Request, clusterName string) error {
	ctx := r.Context()
	var rep v1.AgentReport
	if err := decodeJSON(r, maxReportBytes, &rep, `{"agentVersion": "...", "inventory": {...}, "extensions": []}`); err != nil {
		return err
	}
	now := s.Now().UTC()
	_, err := s.Store.UpdateCluster(ctx, clusterName, func(c *v1.Cluster) error {
		c.LastHeartbeat = &now
		c.ConnectivityStatus = v1.ClusterConnected
		c.AgentVersion = rep.AgentVersion
		c.KubernetesVersion = rep.Inventory.KubernetesVersion
		c.TotalNodeCount = len(rep.Inventory.Nodes)
		c.Distribution = "kubernetes"
		if rep.Inventory.OpenShift {
			c.Distribution = "openshift"
		}
		c.Inventory = &rep.Inventory
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("cluster %q is no longer connected to this workspace", clusterName)
	}
	if err != nil {
		return internal(err)
	}
	for _, er := range rep.Extensions {
		if err := s.applyExtensionReport(ctx, clusterName, er); err != nil {
			return err
		}
	}
	desired, err := s.desiredState(ctx, clusterName)
	if err != nil {
		return internal(err)
	}
	writeJSON(w, http.StatusOK, desired)
	return nil
}

// applyExtensionReport records what the agent says of one extension. A report of an older
// generation than the settings' newest keeps the extension Pending: the agent has not applied
// the change yet.
func (s *Server) applyExtensionReport(ctx context.Context, clusterName string, er v1.ExtensionReport) error {
	if er.Removed {
		e, _, err := s.Store.GetExtension(ctx, clusterName, er.Name)
		if err == nil && e.InstallState == v1.InstallDeleting {
			err = s.Store.DeleteExtension(ctx, clusterName, er.Name)
			s.Log.Info("extension removed", "cluster", clusterName, "extension", er.Name)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return internal(err)
		}
		return nil
	}
	_, err := s.Store.UpdateExtension(ctx, clusterName, er.Name, func(e *v1.Extension, _ *string) error {
		e.Components = er.Components
		e.AppliedGeneration = er.Generation
		if e.InstallState == v1.InstallDeleting || er.Generation != e.Generation {
			return nil
		}
		if e.InstallState != er.InstallState {
			s.Log.Info("extension state", "cluster", clusterName, "extension", er.Name, "state", er.InstallState)
		}
		e.InstallState = er.InstallState
		e.Statuses = er.Statuses
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return internal(err)
	}
	return nil
}

func (s *Server) desiredState(ctx context.Context, clusterName string) (*v1.AgentDesired, error) {
	exts, err := s.Store.ListExtensions(ctx, clusterName)
	if err != nil {
		return nil, err
	}
	d := &v1.AgentDesired{Extensions: []v1.DesiredExtension{}, ReportIntervalSeconds: s.reportInterval().Seconds()}
	for _, e := range exts {
		_, sealed, err := s.Store.GetExtension(ctx, clusterName, e.Name)
		if err != nil {
			return nil, err
		}
		protected, err := s.openSettings(sealed)
		if err != nil {
			return nil, err
		}
		d.Extensions = append(d.Extensions, v1.DesiredExtension{Name: e.Name, ReleaseNamespace: e.ReleaseNamespace,
			Generation: e.Generation, Delete: e.InstallState == v1.InstallDeleting,
			ConfigurationSettings: e.ConfigurationSettings, ProtectedSettings: protected})
	}
	return d, nil
}
