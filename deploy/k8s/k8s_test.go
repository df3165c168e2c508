// Package k8s holds Baton's Kubernetes manifests (kustomize base and
// overlays); this test renders them.
package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/config"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// rendered is one kustomization's output, decoded into the k8s.io/api types.
type rendered struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	ingresses   []*networkingv1.Ingress
	pdbs        []*policyv1.PodDisruptionBudget
	secrets     map[string]*corev1.Secret
	configMaps  map[string]*corev1.ConfigMap
}

// render runs kustomize (the Go API, as `kubectl apply -k` does) and
// decodes every object strictly: a field the API type does not know fails.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := rendered{secrets: map[string]*corev1.Secret{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			t.Fatal(err)
		}
		var target any
		switch r.GetKind() {
		case "Deployment":
			d := &appsv1.Deployment{}
			out.deployments, target = append(out.deployments, d), d
		case "Job":
			o := &batchv1.Job{}
			out.jobs, target = append(out.jobs, o), o
		case "Service":
			o := &corev1.Service{}
			out.services, target = append(out.services, o), o
		case "Ingress":
			o := &networkingv1.Ingress{}
			out.ingresses, target = append(out.ingresses, o), o
		case "PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			out.pdbs, target = append(out.pdbs, o), o
		case "Secret":
			o := &corev1.Secret{}
			out.secrets[r.GetName()], target = o, o
		case "ConfigMap":
			o := &corev1.ConfigMap{}
			out.configMaps[r.GetName()], target = o, o
		default:
			t.Fatalf("%s: unexpected kind %s (%s): add it to the test", dir, r.GetKind(), r.GetName())
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(target); err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v", dir, r.GetKind(), r.GetName(), err)
		}
	}
	return out
}

// configVars are the variables Baton reads: the envconfig tags of
// internal/config.Config.
func configVars() map[string]bool {
	vars := map[string]bool{}
	t := reflect.TypeOf(config.Config{})
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("envconfig"); tag != "" {
			vars[tag] = true
		}
	}
	return vars
}

func TestKustomizeOverlays(t *testing.T) {
	dirs := []string{"base"}
	overlays, _ := filepath.Glob("overlays/*")
	dirs = append(dirs, overlays...)
	if len(overlays) < 2 {
		t.Fatalf("overlays: %v", overlays)
	}
	vars := configVars()
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			if len(r.deployments) != 2 || len(r.jobs) < 1 || len(r.services) != 1 || len(r.ingresses) != 1 || len(r.pdbs) != 2 {
				t.Fatalf("%d deployments, %d jobs, %d services, %d ingresses, %d PDBs", len(r.deployments), len(r.jobs), len(r.services), len(r.ingresses), len(r.pdbs))
			}
			for _, d := range r.deployments {
				checkPod(t, r, vars, "Deployment "+d.Name, d.Spec.Template.Spec, true)
				if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
					t.Errorf("Deployment %s: no replicas", d.Name)
				}
				covered := false
				for _, p := range r.pdbs {
					covered = covered || selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
				}
				if !covered {
					t.Errorf("Deployment %s: no PodDisruptionBudget selects its pods", d.Name)
				}
			}
			for _, j := range r.jobs {
				checkPod(t, r, vars, "Job "+j.Name, j.Spec.Template.Spec, false)
			}
			migrate := false
			for _, j := range r.jobs {
				c := j.Spec.Template.Spec.Containers[0]
				migrate = migrate || strings.Join(c.Args, " ") == "db migrate"
			}
			if !migrate {
				t.Error("no Job runs `starter db migrate`")
			}
			// The Service reaches the gateway pods on a port they expose; the
			// Ingress reaches the Service.
			svc := r.services[0]
			var gw *appsv1.Deployment
			for _, d := range r.deployments {
				if selects(svc.Spec.Selector, d.Spec.Template.Labels) {
					gw = d
				}
			}
			if gw == nil || !strings.Contains(gw.Name, "gateway") {
				t.Fatalf("Service %s selects no gateway pods", svc.Name)
			}
			if _, ok := containerPort(gw.Spec.Template.Spec.Containers[0], svc.Spec.Ports[0].TargetPort.String()); !ok {
				t.Errorf("Service %s: target port %s is not a gateway port", svc.Name, svc.Spec.Ports[0].TargetPort.String())
			}
			for _, ing := range r.ingresses {
				for _, rule := range ing.Spec.Rules {
					for _, p := range rule.HTTP.Paths {
						if p.Backend.Service == nil || p.Backend.Service.Name != svc.Name {
							t.Errorf("Ingress %s: backend is not Service %s", ing.Name, svc.Name)
						}
					}
				}
				// A TLS Secret is either defined here or issued by cert-manager.
				for _, tls := range ing.Spec.TLS {
					if _, ok := r.secrets[tls.SecretName]; !ok && ing.Annotations["cert-manager.io/cluster-issuer"] == "" {
						t.Errorf("Ingress %s: TLS Secret %s is neither defined nor issued by cert-manager", ing.Name, tls.SecretName)
					}
				}
			}
		})
	}
}

// checkPod: every container has requests and limits, runs as non-root
// without privilege escalation, sets only Baton's variables, and refers only
// to Secret keys and ConfigMaps that are defined; a Deployment's containers
// also have readiness and liveness probes on /readyz at a port they expose.
func checkPod(t *testing.T, r rendered, vars map[string]bool, what string, pod corev1.PodSpec, probes bool) {
	t.Helper()
	psc := pod.SecurityContext
	if len(pod.Containers) == 0 {
		t.Fatalf("%s: no containers", what)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil {
			checkSecretKeys(t, r, what, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		where := what + " container " + c.Name
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
				t.Errorf("%s: no %s request", where, res)
			}
			if q, ok := c.Resources.Limits[res]; !ok || q.IsZero() {
				t.Errorf("%s: no %s limit", where, res)
			}
		}
		sc := c.SecurityContext
		nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		var uid *int64
		if psc != nil {
			uid = psc.RunAsUser
		}
		if sc != nil && sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if !nonRoot || uid == nil || *uid == 0 {
			t.Errorf("%s: not pinned to a non-root user (runAsNonRoot and a non-zero runAsUser)", where)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", where)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem is not read-only", where)
		}
		if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: capabilities are not dropped", where)
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: mounts undefined volume %s", where, m.Name)
			}
		}
		if probes {
			for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
					t.Errorf("%s: no %s probe on /readyz", where, name)
					continue
				}
				if _, ok := containerPort(c, p.HTTPGet.Port.String()); !ok {
					t.Errorf("%s: %s probe port %s is not a container port", where, name, p.HTTPGet.Port.String())
				}
			}
		}

		// Every variable the container gets: its env and each envFrom ConfigMap's keys.
		set := map[string]string{}
		for _, e := range c.Env {
			set[e.Name] = "env"
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				checkSecretKeys(t, r, where, ref.Name, []corev1.KeyToPath{{Key: ref.Key}}, ref.Optional)
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				cm, ok := r.configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
				if _, has := cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]; !ok || !has {
					t.Errorf("%s: ConfigMap key %s/%s is not defined", where, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
				}
			}
		}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cm, ok := r.configMaps[ef.ConfigMapRef.Name]
				if !ok {
					t.Errorf("%s: ConfigMap %s is not defined", where, ef.ConfigMapRef.Name)
					continue
				}
				for k := range cm.Data {
					set[ef.Prefix+k] = "ConfigMap " + cm.Name
				}
			case ef.SecretRef != nil:
				s, ok := r.secrets[ef.SecretRef.Name]
				if !ok {
					t.Errorf("%s: Secret %s is not defined", where, ef.SecretRef.Name)
					continue
				}
				for k := range secretKeys(s) {
					set[ef.Prefix+k] = "Secret " + s.Name
				}
			}
		}
		var names []string
		for k := range set {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !vars[k] {
				t.Errorf("%s: sets %s (from %s), which Baton's config does not read", where, k, set[k])
			}
		}
	}
}

func checkSecretKeys(t *testing.T, r rendered, where, name string, items []corev1.KeyToPath, optional *bool) {
	t.Helper()
	if optional != nil && *optional {
		return
	}
	s, ok := r.secrets[name]
	if !ok {
		t.Errorf("%s: Secret %s is not defined", where, name)
		return
	}
	keys := secretKeys(s)
	for _, it := range items {
		if !keys[it.Key] {
			t.Errorf("%s: Secret %s has no key %s", where, name, it.Key)
		}
	}
}

func secretKeys(s *corev1.Secret) map[string]bool {
	keys := map[string]bool{}
	for k := range s.Data {
		keys[k] = true
	}
	for k := range s.StringData {
		keys[k] = true
	}
	return keys
}

func containerPort(c corev1.Container, port string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestTemporalHelmValues: the values file for the official chart is valid
// YAML and keeps both stores on PostgreSQL with nothing else bundled.
func TestTemporalHelmValues(t *testing.T) {
	b, err := os.ReadFile("temporal/values-postgresql.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Server struct {
			Image  struct{ Tag string }
			Config struct {
				Persistence map[string]json.RawMessage
			}
		}
		Cassandra, Mysql, Postgresql, Elasticsearch struct{ Enabled bool }
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{"default", "visibility"} {
		var s struct {
			Driver string
			SQL    struct{ Driver, Database, ExistingSecret string } `json:"sql"`
		}
		if err := json.Unmarshal(v.Server.Config.Persistence[store], &s); err != nil {
			t.Fatal(err)
		}
		if s.Driver != "sql" || s.SQL.Driver != "postgres12" || s.SQL.Database == "" || s.SQL.ExistingSecret == "" {
			t.Errorf("%s store: %+v; want sql/postgres12 with a database and an existing secret", store, s)
		}
	}
	if v.Cassandra.Enabled || v.Mysql.Enabled || v.Postgresql.Enabled || v.Elasticsearch.Enabled {
		t.Error("a bundled database is enabled")
	}
	if v.Server.Image.Tag != "1.29.1" {
		t.Errorf("server image %s; want 1.29.1, the version make run-cluster builds", v.Server.Image.Tag)
	}
}
