package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/queue"
)

const (
	secretName       = "countysync-secrets"
	configMapName    = "countysync-config"
	workerName       = "countysync-worker"
	dashboardName    = "countysync-dashboard"
	serviceAccount   = "countysync"
	scaledObjectKind = "ScaledObject"
)

// scaledObject is the part of KEDA's ScaledObject (keda.sh/v1alpha1) that
// the manifests use; decoding is strict, so any other field fails the test.
type scaledObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// rendered is one kustomize build, every object decoded strictly into its
// Kubernetes type.
type rendered struct {
	name         string
	namespaces   map[string]*corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	accounts     map[string]*corev1.ServiceAccount
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	cronJobs     map[string]*batchv1.CronJob
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	scaledObjs   map[string]*scaledObject
	objNamespace map[string]string // kind/name -> namespace
	// externalSecrets are Secrets the render expects to exist in the
	// cluster; they are checked against the template in base.
	externalSecrets map[string]*corev1.Secret
}

func newScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// render runs kustomize on dir, as `kubectl apply -k dir` would, and decodes
// every object strictly (unknown or misspelt fields fail).
func render(t *testing.T, name, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("%s: kustomize build %s: %v", name, dir, err)
	}
	decoder := serializer.NewCodecFactory(newScheme(t), serializer.EnableStrict).UniversalDeserializer()
	r := &rendered{
		name:            name,
		namespaces:      map[string]*corev1.Namespace{},
		configMaps:      map[string]*corev1.ConfigMap{},
		secrets:         map[string]*corev1.Secret{},
		accounts:        map[string]*corev1.ServiceAccount{},
		services:        map[string]*corev1.Service{},
		deployments:     map[string]*appsv1.Deployment{},
		cronJobs:        map[string]*batchv1.CronJob{},
		pdbs:            map[string]*policyv1.PodDisruptionBudget{},
		hpas:            map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		scaledObjs:      map[string]*scaledObject{},
		objNamespace:    map[string]string{},
		externalSecrets: map[string]*corev1.Secret{},
	}
	if len(m.Resources()) == 0 {
		t.Fatalf("%s: kustomize rendered nothing", name)
	}
	for _, res := range m.Resources() {
		data, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		id := res.GetKind() + "/" + res.GetName()
		if _, dup := r.objNamespace[id]; dup {
			t.Errorf("%s: %s rendered twice", name, id)
		}
		r.objNamespace[id] = res.GetNamespace()
		if res.GetKind() == scaledObjectKind {
			so := &scaledObject{}
			if err := yaml.UnmarshalStrict(data, so); err != nil {
				t.Errorf("%s: %s: %v", name, id, err)
				continue
			}
			if so.APIVersion != "keda.sh/v1alpha1" {
				t.Errorf("%s: %s: apiVersion %q, want keda.sh/v1alpha1", name, id, so.APIVersion)
			}
			r.scaledObjs[so.Metadata.Name] = so
			continue
		}
		obj, gvk, err := decoder.Decode(data, nil, nil)
		if err != nil {
			t.Errorf("%s: %s: strict decoding: %v", name, id, err)
			continue
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			r.namespaces[o.Name] = o
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *corev1.ServiceAccount:
			r.accounts[o.Name] = o
		case *corev1.Service:
			r.services[o.Name] = o
		case *appsv1.Deployment:
			r.deployments[o.Name] = o
		case *batchv1.CronJob:
			r.cronJobs[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs[o.Name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas[o.Name] = o
		default:
			t.Errorf("%s: %s: unexpected kind %v", name, id, gvk)
		}
	}
	return r
}

// renderWith renders base plus components, in a throw-away kustomization.
func renderWith(t *testing.T, name, namespace string, components ...string) *rendered {
	t.Helper()
	k8s := filepath.Join(repoRoot(t), "deploy", "k8s")
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if namespace != "" {
		fmt.Fprintf(&b, "namespace: %s\n", namespace)
	}
	dir := t.TempDir()
	// kustomize wants relative paths to other kustomizations.
	rel := func(p string) string {
		r, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	fmt.Fprintf(&b, "resources:\n- %s\n", rel(filepath.Join(k8s, "base")))
	if len(components) > 0 {
		b.WriteString("components:\n")
		for _, c := range components {
			fmt.Fprintf(&b, "- %s\n", rel(filepath.Join(k8s, "components", c)))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return render(t, name, dir)
}

// namedRef finds a kustomize-generated object by its base name: the render
// holds it under base name + "-" + content hash.
func suffixed[T any](m map[string]T, base string) (string, T, bool) {
	for name, v := range m {
		if name == base || (strings.HasPrefix(name, base+"-") && len(name) == len(base)+11) {
			return name, v, true
		}
	}
	var zero T
	return "", zero, false
}

// podEnv is the environment a container gets, resolved against the render
// (or the external Secrets' templates): what config.Parse will see.
func (r *rendered) podEnv(t *testing.T, where string, c *corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	secretData := func(name string) (map[string]string, bool) {
		s, ok := r.secrets[name]
		if !ok {
			s, ok = r.externalSecrets[name]
		}
		if !ok {
			return nil, false
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		for k, v := range s.StringData {
			out[k] = v
		}
		return out, true
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			data, ok := secretData(ef.SecretRef.Name)
			if !ok {
				if ef.SecretRef.Optional == nil || !*ef.SecretRef.Optional {
					t.Errorf("%s: envFrom Secret %q is not in the render", where, ef.SecretRef.Name)
				}
				continue
			}
			for k, v := range data {
				env[ef.Prefix+k] = v
			}
		case ef.ConfigMapRef != nil:
			cm, ok := r.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not in the render", where, ef.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				env[ef.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			data, ok := secretData(ref.Name)
			if v, has := data[ref.Key]; ok && has {
				env[e.Name] = v
			} else if ref.Optional == nil || !*ref.Optional {
				t.Errorf("%s: env %s: Secret %q key %q is not in the render", where, e.Name, ref.Name, ref.Key)
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := r.configMaps[ref.Name]
			if v, has := cm.Data[ref.Key]; ok && has {
				env[e.Name] = v
			} else if ref.Optional == nil || !*ref.Optional {
				t.Errorf("%s: env %s: ConfigMap %q key %q is not in the render", where, e.Name, ref.Name, ref.Key)
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			ref := e.ValueFrom.ResourceFieldRef
			if ref.ContainerName != "" && ref.ContainerName != c.Name {
				t.Errorf("%s: env %s: resourceFieldRef names container %q", where, e.Name, ref.ContainerName)
			}
			list := c.Resources.Limits
			res := strings.TrimPrefix(ref.Resource, "limits.")
			if strings.HasPrefix(ref.Resource, "requests.") {
				list, res = c.Resources.Requests, strings.TrimPrefix(ref.Resource, "requests.")
			}
			if _, ok := list[corev1.ResourceName(res)]; !ok {
				t.Errorf("%s: env %s: resourceFieldRef %s is not set on the container", where, e.Name, ref.Resource)
			}
			env[e.Name] = "1"
		default:
			env[e.Name] = "dummy"
		}
	}
	return env
}

// containerCheck is what checkPod learnt about one countysync container.
type containerCheck struct {
	container *corev1.Container
	line      *commandLine
	config    *config.Config
	env       map[string]string
}

// checkPod checks a pod template: service account, security, volumes and
// every reference, resources, and that each container's command line
// parses with countysync's parser and its config validates with the env
// the container gets. It returns the countysync containers by name.
func (r *rendered) checkPod(t *testing.T, owner string, spec *corev1.PodSpec) map[string]*containerCheck {
	t.Helper()
	where := r.name + ": " + owner
	if spec.ServiceAccountName != serviceAccount {
		t.Errorf("%s: serviceAccountName %q, want %q", where, spec.ServiceAccountName, serviceAccount)
	}
	if _, ok := r.accounts[spec.ServiceAccountName]; !ok {
		t.Errorf("%s: ServiceAccount %q is not in the render", where, spec.ServiceAccountName)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext must set runAsNonRoot: true and a non-zero runAsUser", where)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		volumes[v.Name] = v
		if v.ConfigMap != nil {
			cm, ok := r.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: volume %s: ConfigMap %q is not in the render", where, v.Name, v.ConfigMap.Name)
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("%s: volume %s: ConfigMap %q has no key %q", where, v.Name, cm.Name, it.Key)
				}
			}
		}
		if v.Secret != nil {
			if _, ok := r.secrets[v.Secret.SecretName]; !ok {
				if _, ok := r.externalSecrets[v.Secret.SecretName]; !ok {
					t.Errorf("%s: volume %s: Secret %q is not in the render", where, v.Name, v.Secret.SecretName)
				}
			}
		}
	}
	out := map[string]*containerCheck{}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cw := where + " container " + c.Name
		if c.Image == "" {
			t.Errorf("%s: no image", cw)
		}
		// Security.
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: securityContext must set readOnlyRootFilesystem, allowPrivilegeEscalation: false and drop ALL", cw)
		}
		// Mounts: every mount has a volume; /tmp is a writable emptyDir.
		tmp := false
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("%s: volumeMount %q has no volume", cw, m.Name)
				continue
			}
			if m.MountPath == "/tmp" && v.EmptyDir != nil && !m.ReadOnly {
				tmp = true
			}
		}
		if !tmp {
			t.Errorf("%s: /tmp must be a writable emptyDir (the root filesystem is read-only)", cw)
		}
		// Resources.
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okR := c.Resources.Requests[res]
			lim, okL := c.Resources.Limits[res]
			if !okR || !okL {
				t.Errorf("%s: resources must set requests and limits of %s", cw, res)
				continue
			}
			if req.Cmp(lim) > 0 {
				t.Errorf("%s: %s request %s exceeds its limit %s", cw, res, req.String(), lim.String())
			}
		}
		// Command line: the image's ENTRYPOINT is countysync.
		argv := slices.Clone(c.Args)
		if len(c.Command) > 0 {
			if filepath.Base(c.Command[0]) != "countysync" {
				t.Errorf("%s: command %q does not run countysync", cw, c.Command)
				continue
			}
			argv = append(slices.Clone(c.Command[1:]), c.Args...)
		}
		line, err := parseCommandLine(argv)
		if err != nil {
			t.Errorf("%s: %v", cw, err)
			continue
		}
		cc := &containerCheck{container: c, line: line, env: r.podEnv(t, cw, c)}
		out[c.Name] = cc
		// The config file: a mounted ConfigMap key that validates.
		path, set := line.flag("config")
		if !set {
			continue
		}
		data, ok := r.mountedFile(t, cw, spec, c, path)
		if !ok {
			continue
		}
		cfg, err := parseConfig(path, data, cc.env)
		if err != nil {
			t.Errorf("%s: config %s does not validate with the container's environment: %v", cw, path, err)
			continue
		}
		cc.config = cfg
	}
	return out
}

// mountedFile returns the content of the file at path in container c,
// which must come from a ConfigMap volume in the render.
func (r *rendered) mountedFile(t *testing.T, where string, spec *corev1.PodSpec, c *corev1.Container, path string) ([]byte, bool) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, path)
		if err != nil || strings.HasPrefix(rel, "..") || rel == "." {
			continue
		}
		if m.SubPath != "" {
			t.Errorf("%s: %s is mounted with subPath: it would not follow ConfigMap updates", where, path)
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := r.configMaps[v.ConfigMap.Name]
			if !ok {
				return nil, false // reported by checkPod
			}
			key := rel
			if len(v.ConfigMap.Items) > 0 {
				key = ""
				for _, it := range v.ConfigMap.Items {
					if it.Path == rel {
						key = it.Key
					}
				}
			}
			if d, ok := cm.Data[key]; ok && key != "" {
				return []byte(d), true
			}
		}
	}
	t.Errorf("%s: %s is not a file mounted from a ConfigMap of the render", where, path)
	return nil, false
}

// containerPort resolves a probe's or Service's port (number or name) to
// one of the container's ports.
func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("bad selector: %v", err)
	}
	return !s.Empty() && s.Matches(labels.Set(l))
}

// checkCommon runs the checks every render must pass and returns the
// worker's countysync container.
func (r *rendered) checkCommon(t *testing.T) *containerCheck {
	t.Helper()
	// One namespace for everything.
	var ns string
	for id, n := range r.objNamespace {
		if strings.HasPrefix(id, "Namespace/") {
			continue
		}
		if ns == "" {
			ns = n
		} else if n != ns {
			t.Errorf("%s: %s is in namespace %q, others in %q", r.name, id, n, ns)
		}
	}
	if ns != "" && len(r.namespaces) > 0 {
		if _, ok := r.namespaces[ns]; !ok {
			t.Errorf("%s: objects go to namespace %q, which the render does not create", r.name, ns)
		}
	}
	// The config is generated, with a content-hash suffix so a changed
	// config rolls the pods.
	cmName, _, ok := suffixed(r.configMaps, configMapName)
	if !ok || cmName == configMapName {
		t.Errorf("%s: ConfigMap %s-<hash> (configMapGenerator) is missing; have %v", r.name, configMapName, keys(r.configMaps))
	}
	if _, ok := r.accounts[serviceAccount]; !ok {
		t.Errorf("%s: ServiceAccount %s is missing", r.name, serviceAccount)
	} else if a := r.accounts[serviceAccount]; a.AutomountServiceAccountToken == nil || *a.AutomountServiceAccountToken {
		t.Errorf("%s: ServiceAccount %s should not automount a token (countysync never calls the API)", r.name, serviceAccount)
	}

	// Deployments: selectors select their own pods and no one else's.
	for name, d := range r.deployments {
		if !selectorMatches(t, d.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("%s: Deployment %s: selector %v does not match its pod labels %v", r.name, name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		for other, o := range r.deployments {
			if other != name && selectorMatches(t, d.Spec.Selector, o.Spec.Template.Labels) {
				t.Errorf("%s: Deployment %s's selector also matches the pods of %s", r.name, name, other)
			}
		}
	}

	// Worker.
	wd, ok := r.deployments[workerName]
	if !ok {
		t.Fatalf("%s: Deployment %s is missing", r.name, workerName)
	}
	wc := r.checkPod(t, "Deployment "+workerName, &wd.Spec.Template.Spec)["worker"]
	if wc == nil || wc.config == nil {
		t.Fatalf("%s: the worker container has no valid countysync command line and config", r.name)
	}
	if wc.line.name() != "worker" {
		t.Errorf("%s: worker container runs %q, want worker", r.name, wc.line.name())
	}
	shutdown := wc.config.Worker.ShutdownTimeout.D()
	if d, set := wc.line.duration(t, "shutdown-timeout"); set {
		shutdown = d
	}
	grace := wd.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Errorf("%s: worker: terminationGracePeriodSeconds is not set (default 30s is not longer than the %v shutdown timeout)", r.name, shutdown)
	} else if g := time.Duration(*grace) * time.Second; g < shutdown+10*time.Second {
		t.Errorf("%s: worker: terminationGracePeriodSeconds %v must exceed the worker shutdown timeout %v by at least 10s", r.name, g, shutdown)
	}
	listen := wc.config.Worker.Listen
	if v, set := wc.line.flag("listen"); set {
		listen = v
	}
	if listen == "off" {
		t.Fatalf("%s: worker health endpoint is off, but the pods are probed", r.name)
	}
	port, external := listenAddr(t, r.name+": worker.listen", listen)
	if !external {
		t.Errorf("%s: worker listens on %s: the kubelet and Prometheus cannot reach a loopback address", r.name, listen)
	}
	if cp, ok := containerPort(wc.container, intstr.FromInt32(int32(port))); !ok || cp != int32(port) {
		t.Errorf("%s: worker listens on port %d but declares no such containerPort", r.name, port)
	}
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{{"readiness", wc.container.ReadinessProbe, "/readyz"}, {"liveness", wc.container.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: worker: %s probe must be an HTTP GET of %s", r.name, p.kind, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: worker: %s probe path %q, want %q", r.name, p.kind, p.probe.HTTPGet.Path, p.path)
		}
		if cp, ok := containerPort(wc.container, p.probe.HTTPGet.Port); !ok || cp != int32(port) {
			t.Errorf("%s: worker: %s probe port %s is not the listen port %d", r.name, p.kind, p.probe.HTTPGet.Port.String(), port)
		}
	}
	if a := wd.Spec.Template.Annotations; a["prometheus.io/port"] != strconv.Itoa(port) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: worker: prometheus.io annotations %v do not point at :%d/metrics", r.name, a, port)
	}
	for _, q := range []string{"extract", "export", "publish"} {
		if wc.config.Worker.Queues[q] < 1 {
			t.Errorf("%s: worker does not serve queue %s", r.name, q)
		}
	}

	// PodDisruptionBudget for the workers only, never blocking a drain.
	pdb, ok := r.pdbs[workerName]
	if !ok {
		t.Errorf("%s: PodDisruptionBudget %s is missing", r.name, workerName)
	} else {
		if !selectorMatches(t, pdb.Spec.Selector, wd.Spec.Template.Labels) {
			t.Errorf("%s: PDB selector does not match the worker pods", r.name)
		}
		for name, d := range r.deployments {
			if name != workerName && selectorMatches(t, pdb.Spec.Selector, d.Spec.Template.Labels) {
				t.Errorf("%s: PDB selector also matches %s", r.name, name)
			}
		}
		if pdb.Spec.MinAvailable != nil {
			t.Errorf("%s: PDB: use maxUnavailable: minAvailable blocks node drains of a one-worker install", r.name)
		}
		if pdb.Spec.MaxUnavailable == nil {
			t.Errorf("%s: PDB: maxUnavailable is not set", r.name)
		}
	}

	// Dashboard and its Service.
	dd, ok := r.deployments[dashboardName]
	if !ok {
		t.Fatalf("%s: Deployment %s is missing", r.name, dashboardName)
	}
	dc := r.checkPod(t, "Deployment "+dashboardName, &dd.Spec.Template.Spec)["dashboard"]
	if dc == nil || dc.config == nil {
		t.Fatalf("%s: the dashboard container has no valid countysync command line and config", r.name)
	}
	if dc.line.name() != "dashboard" {
		t.Errorf("%s: dashboard container runs %q", r.name, dc.line.name())
	}
	dlisten := dc.config.Dashboard.Listen
	if v, set := dc.line.flag("listen"); set {
		dlisten = v
	}
	dport, dext := listenAddr(t, r.name+": dashboard.listen", dlisten)
	if !dext {
		t.Errorf("%s: dashboard listens on %s: a Service cannot reach a loopback address", r.name, dlisten)
	} else if dc.env["COUNTYSYNC_DASHBOARD_USER"] == "" || dc.env["COUNTYSYNC_DASHBOARD_PASSWORD"] == "" {
		t.Errorf("%s: dashboard on %s needs COUNTYSYNC_DASHBOARD_USER and COUNTYSYNC_DASHBOARD_PASSWORD or it refuses to start", r.name, dlisten)
	}
	for kind, p := range map[string]*corev1.Probe{"readiness": dc.container.ReadinessProbe, "liveness": dc.container.LivenessProbe} {
		var pp intstr.IntOrString
		switch {
		case p == nil:
			t.Errorf("%s: dashboard: no %s probe", r.name, kind)
			continue
		case p.TCPSocket != nil:
			pp = p.TCPSocket.Port
		case p.HTTPGet != nil:
			pp = p.HTTPGet.Port
		default:
			t.Errorf("%s: dashboard: %s probe must be TCP or HTTP", r.name, kind)
			continue
		}
		if cp, ok := containerPort(dc.container, pp); !ok || cp != int32(dport) {
			t.Errorf("%s: dashboard: %s probe port %s is not the listen port %d", r.name, kind, pp.String(), dport)
		}
	}
	svc, ok := r.services[dashboardName]
	if !ok {
		t.Errorf("%s: Service %s is missing", r.name, dashboardName)
	} else {
		if svc.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("%s: Service %s type %q, want ClusterIP", r.name, dashboardName, svc.Spec.Type)
		}
		sel := &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}
		if !selectorMatches(t, sel, dd.Spec.Template.Labels) || selectorMatches(t, sel, wd.Spec.Template.Labels) {
			t.Errorf("%s: Service %s selector %v must select the dashboard pods only", r.name, dashboardName, svc.Spec.Selector)
		}
		for _, sp := range svc.Spec.Ports {
			if cp, ok := containerPort(dc.container, sp.TargetPort); !ok || cp != int32(dport) {
				t.Errorf("%s: Service port %s targets %s, not the dashboard's port %d", r.name, sp.Name, sp.TargetPort.String(), dport)
			}
		}
	}

	// Nightly enqueue.
	if len(r.cronJobs) != 1 {
		t.Fatalf("%s: want one CronJob, have %v", r.name, keys(r.cronJobs))
	}
	for name, cj := range r.cronJobs {
		where := r.name + ": CronJob " + name
		if _, err := cron.ParseStandard(cj.Spec.Schedule); err != nil {
			t.Errorf("%s: schedule %q: %v", where, cj.Spec.Schedule, err)
		}
		if tz := cj.Spec.TimeZone; tz != nil {
			if _, err := time.LoadLocation(*tz); err != nil {
				t.Errorf("%s: timeZone %q: %v", where, *tz, err)
			}
		}
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("%s: concurrencyPolicy %q: two nightly jobs must not overlap", where, cj.Spec.ConcurrencyPolicy)
		}
		js := cj.Spec.JobTemplate.Spec
		pod := &js.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
			t.Errorf("%s: restartPolicy %q", where, pod.RestartPolicy)
		}
		checks := r.checkPod(t, "CronJob "+name, pod)
		if len(checks) != 1 {
			t.Errorf("%s: want one countysync container", where)
		}
		for _, cc := range checks {
			if cc.line.name() != "enqueue" {
				t.Errorf("%s: runs %q, want enqueue", where, cc.line.name())
			}
			if v, _ := cc.line.flag("wait"); v != "true" {
				t.Errorf("%s: enqueue without --wait: the Job would succeed before the work is done", where)
			}
			if cc.config == nil {
				t.Errorf("%s: no valid config", where)
			}
			timeout, _ := cc.line.duration(t, "timeout")
			if js.ActiveDeadlineSeconds == nil || time.Duration(*js.ActiveDeadlineSeconds)*time.Second <= timeout {
				t.Errorf("%s: activeDeadlineSeconds must exceed enqueue --timeout %v", where, timeout)
			}
		}
	}

	// Autoscalers: at most one per Deployment; with one, the Deployment
	// leaves replicas to it.
	targets := map[string]int{}
	for name, h := range r.hpas {
		where := r.name + ": HPA " + name
		ref := h.Spec.ScaleTargetRef
		targets[ref.Name]++
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || r.deployments[ref.Name] == nil {
			t.Errorf("%s: scaleTargetRef %v is not a Deployment of the render", where, ref)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("%s: replicas must be 1 <= min <= max", where)
		}
		cpu := false
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
				m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
				cpu = true
			}
		}
		if !cpu {
			t.Errorf("%s: no CPU utilization metric", where)
		}
		if d := r.deployments[ref.Name]; d != nil {
			for _, c := range d.Spec.Template.Spec.Containers {
				if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
					t.Errorf("%s: container %s has no CPU request, so CPU utilization is undefined", where, c.Name)
				}
			}
		}
	}
	for name, so := range r.scaledObjs {
		targets[so.Spec.ScaleTargetRef.Name]++
		r.checkScaledObject(t, name, so, wc.config)
	}
	for target, n := range targets {
		if n > 1 {
			t.Errorf("%s: %d autoscalers target %s", r.name, n, target)
		}
		if d := r.deployments[target]; d != nil && d.Spec.Replicas != nil {
			t.Errorf("%s: Deployment %s is autoscaled but sets replicas: %d (kubectl apply would reset the autoscaler's count)", r.name, target, *d.Spec.Replicas)
		}
	}
	return wc
}

// checkScaledObject checks KEDA's ScaledObject against the worker config:
// same Redis, asynq's pending lists of the extract and export queues.
func (r *rendered) checkScaledObject(t *testing.T, name string, so *scaledObject, cfg *config.Config) {
	t.Helper()
	where := r.name + ": ScaledObject " + name
	ref := so.Spec.ScaleTargetRef
	if ref.Name != workerName || (ref.Kind != "" && ref.Kind != "Deployment") || r.deployments[ref.Name] == nil {
		t.Errorf("%s: scaleTargetRef %+v is not the worker Deployment", where, ref)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
		t.Errorf("%s: minReplicaCount must be at least 1 (a worker must be there to take the first task)", where)
	} else if so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount < *so.Spec.MinReplicaCount {
		t.Errorf("%s: maxReplicaCount must be at least minReplicaCount", where)
	}
	state, err := url.Parse(cfg.State.URL)
	if err != nil || state.Scheme != "redis" {
		t.Fatalf("%s: worker state.url %q is not redis://", where, cfg.State.URL)
	}
	db := strings.TrimPrefix(state.Path, "/")
	if db == "" {
		db = "0"
	}
	ns := r.objNamespace[scaledObjectKind+"/"+name]
	lists := map[string]bool{}
	for i, tr := range so.Spec.Triggers {
		tw := fmt.Sprintf("%s: trigger %d", where, i)
		if tr.Type != "redis" {
			t.Errorf("%s: type %q, want redis", tw, tr.Type)
			continue
		}
		md := tr.Metadata
		for k := range md {
			if !slices.Contains([]string{"address", "host", "port", "listName", "listLength", "activationListLength", "databaseIndex", "enableTLS", "addressFromEnv", "passwordFromEnv", "usernameFromEnv"}, k) {
				t.Errorf("%s: unknown redis scaler metadata %q", tw, k)
			}
		}
		lists[md["listName"]] = true
		if n, err := strconv.Atoi(md["listLength"]); err != nil || n < 1 {
			t.Errorf("%s: listLength %q must be a positive integer", tw, md["listLength"])
		}
		if md["databaseIndex"] != db {
			t.Errorf("%s: databaseIndex %q, but the workers use Redis database %s", tw, md["databaseIndex"], db)
		}
		host, port, err := net.SplitHostPort(md["address"])
		if err != nil {
			t.Errorf("%s: address %q: %v", tw, md["address"], err)
			continue
		}
		labels := strings.Split(host, ".")
		if labels[0] != state.Hostname() || port != state.Port() {
			t.Errorf("%s: address %s is not the workers' Redis %s", tw, md["address"], state.Host)
		}
		// KEDA's operator runs in its own namespace: a bare Service name
		// would not resolve there.
		if len(labels) < 3 || labels[2] != "svc" {
			t.Errorf("%s: address %s must be a Service's full name (NAME.NAMESPACE.svc…) for KEDA's operator", tw, md["address"])
		} else if ns != "" && labels[1] != ns {
			t.Errorf("%s: address %s points at namespace %q, but the release is in %q", tw, md["address"], labels[1], ns)
		}
	}
	for _, q := range []string{"export", "extract"} {
		// asynq's pending list of the deployment's queue (queue names
		// carry state.prefix).
		if l := "asynq:{" + queue.QueueName(cfg.State.Prefix, q) + "}:pending"; !lists[l] {
			t.Errorf("%s: no trigger on %s", where, l)
		}
		if cfg.Worker.Queues[q] < 1 {
			t.Errorf("%s: scales on queue %s, which the workers do not serve", where, q)
		}
	}
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func cpuOf(t *testing.T, r *rendered, kind string) resource.Quantity {
	t.Helper()
	for _, c := range r.deployments[workerName].Spec.Template.Spec.Containers {
		if c.Name == "worker" {
			if kind == "requests" {
				return c.Resources.Requests[corev1.ResourceCPU]
			}
			return c.Resources.Limits[corev1.ResourceCPU]
		}
	}
	t.Fatalf("%s: no worker container", r.name)
	return resource.Quantity{}
}

func TestKustomizeBase(t *testing.T) {
	r := renderWith(t, "base", "")
	r.checkCommon(t)
	// The base must apply on a cluster without CRDs and without an
	// autoscaler: fixed replicas.
	if len(r.scaledObjs) > 0 || len(r.hpas) > 0 {
		t.Errorf("base: autoscalers belong in components, not the base")
	}
	if d := r.deployments[workerName]; d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
		t.Errorf("base: worker replicas must be set")
	}
	if _, ok := r.secrets[secretName]; !ok {
		t.Errorf("base: the Secret template %s is missing", secretName)
	}
}

func TestKustomizeKEDAComponent(t *testing.T) {
	r := renderWith(t, "base+keda", "countysync", "keda")
	r.checkCommon(t)
	if len(r.scaledObjs) != 1 {
		t.Errorf("base+keda: want one ScaledObject, have %v", keys(r.scaledObjs))
	}
}

func TestKustomizeHPAComponent(t *testing.T) {
	r := renderWith(t, "base+hpa", "", "hpa")
	r.checkCommon(t)
	if len(r.hpas) != 1 || len(r.scaledObjs) != 0 {
		t.Errorf("base+hpa: want one HPA and no ScaledObject, have %v %v", keys(r.hpas), keys(r.scaledObjs))
	}
}

func TestKustomizeOverlayDev(t *testing.T) {
	r := render(t, "dev", filepath.Join(repoRoot(t), "deploy", "k8s", "overlays", "dev"))
	r.checkCommon(t)
	if d := r.deployments[workerName]; d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("dev: want exactly 1 worker")
	}
	if len(r.scaledObjs) > 0 || len(r.hpas) > 0 {
		t.Errorf("dev: no autoscaler (KEDA off)")
	}
	if _, ok := r.namespaces["countysync-dev"]; !ok {
		t.Errorf("dev: namespace countysync-dev is not created")
	}
}

func TestKustomizeOverlayProd(t *testing.T) {
	k8s := filepath.Join(repoRoot(t), "deploy", "k8s")
	base := renderWith(t, "base", "")
	dev := render(t, "dev", filepath.Join(k8s, "overlays", "dev"))
	r := render(t, "prod", filepath.Join(k8s, "overlays", "prod"))
	// Production does not ship the placeholder Secret: it must exist in the
	// cluster with the keys of the template in base.
	if _, ok := r.secrets[secretName]; ok {
		t.Errorf("prod: renders the placeholder Secret %s; it would overwrite the real one", secretName)
	}
	r.externalSecrets[secretName] = base.secrets[secretName]
	r.checkCommon(t)
	if len(r.scaledObjs) != 1 {
		t.Fatalf("prod: want KEDA on (one ScaledObject), have %v", keys(r.scaledObjs))
	}
	for _, so := range r.scaledObjs {
		if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 2 {
			t.Errorf("prod: minReplicaCount must be at least 2")
		}
	}
	for _, kind := range []string{"requests", "limits"} {
		p, d := cpuOf(t, r, kind), cpuOf(t, dev, kind)
		if p.Cmp(d) <= 0 {
			t.Errorf("prod: worker CPU %s %s is not more than dev's %s", kind, p.String(), d.String())
		}
	}
	for _, d := range r.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image[strings.LastIndex(c.Image, "/")+1:], ":") {
				t.Errorf("prod: %s uses image %q: pin a version", d.Name, c.Image)
			}
		}
	}
	if _, ok := r.namespaces["countysync"]; !ok {
		t.Errorf("prod: namespace countysync is not created")
	}
}

func TestKustomizeSecretTemplateHasPlaceholdersOnly(t *testing.T) {
	r := renderWith(t, "base", "")
	s := r.secrets[secretName]
	if s == nil {
		t.Fatalf("no Secret %s", secretName)
	}
	if len(s.Data) > 0 {
		t.Errorf("the Secret template should use stringData placeholders, not data")
	}
	for _, k := range []string{"COUNTYSYNC_SOURCE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "COUNTYSYNC_DASHBOARD_PASSWORD"} {
		if v := s.StringData[k]; !strings.Contains(v, "CHANGE_ME") {
			t.Errorf("Secret template key %s = %q: want a CHANGE_ME placeholder", k, v)
		}
	}
}
