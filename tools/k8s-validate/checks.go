package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The strict decoder checks shape and types; these are the rules the API
// server (and its admission) would still reject, or that this project
// requires of every manifest: names, selectors that select, references
// that resolve, and the restricted Pod Security Standard on every pod.

// podTemplate is a pod spec found in the render, with its labels.
type podTemplate struct {
	owner  *doc
	labels map[string]string
	spec   *corev1.PodSpec
}

type checker struct {
	docs    []*doc
	pods    []podTemplate
	metrics map[string]bool // known metric names; nil: not checked
	errs    []string
}

func (c *checker) fail(d *doc, format string, args ...any) {
	c.errs = append(c.errs, d.String()+": "+fmt.Sprintf(format, args...))
}

func (c *checker) run() {
	for _, d := range c.docs {
		if d.obj == nil {
			continue
		}
		if spec, lbls := podSpecOf(d.obj); spec != nil {
			c.pods = append(c.pods, podTemplate{owner: d, labels: lbls, spec: spec})
		}
	}
	for _, d := range c.docs {
		if d.obj == nil {
			continue
		}
		c.checkMeta(d)
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			c.checkSelector(d, o.Spec.Selector, o.Spec.Template.Labels)
			c.checkPodSpec(d, &o.Spec.Template.Spec, corev1.RestartPolicyAlways)
		case *appsv1.StatefulSet:
			c.checkSelector(d, o.Spec.Selector, o.Spec.Template.Labels)
			c.checkPodSpec(d, &o.Spec.Template.Spec, corev1.RestartPolicyAlways)
		case *appsv1.DaemonSet:
			c.checkSelector(d, o.Spec.Selector, o.Spec.Template.Labels)
			c.checkPodSpec(d, &o.Spec.Template.Spec, corev1.RestartPolicyAlways)
		case *batchv1.Job:
			c.checkPodSpec(d, &o.Spec.Template.Spec, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure)
		case *batchv1.CronJob:
			c.checkPodSpec(d, &o.Spec.JobTemplate.Spec.Template.Spec, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure)
		case *corev1.Pod:
			c.checkPodSpec(d, &o.Spec, corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure)
		case *corev1.Service:
			c.checkService(d, o)
		case *corev1.ConfigMap:
			c.checkConfigMap(d, o)
		case *policyv1.PodDisruptionBudget:
			c.checkPDB(d, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.checkHPA(d, o)
		case *ScaledObject:
			c.checkScaledObject(d, o)
		case *monitoringv1.ServiceMonitor:
			c.checkServiceMonitor(d, o)
		case *monitoringv1.PrometheusRule:
			c.checkPrometheusRule(d, o)
		}
	}
}

// podSpecOf returns the pod spec a workload object carries, if any.
func podSpecOf(o any) (*corev1.PodSpec, map[string]string) {
	switch o := o.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, o.Spec.Template.Labels
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec, o.Spec.Template.Labels
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec, o.Spec.Template.Labels
	case *batchv1.Job:
		return &o.Spec.Template.Spec, o.Spec.Template.Labels
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec, o.Spec.JobTemplate.Spec.Template.Labels
	case *corev1.Pod:
		return &o.Spec, o.Labels
	}
	return nil, nil
}

func metaOf(o any) *metav1.ObjectMeta {
	if m, ok := o.(metav1.ObjectMetaAccessor); ok {
		return m.GetObjectMeta().(*metav1.ObjectMeta)
	}
	return nil
}

func (c *checker) checkMeta(d *doc) {
	m := metaOf(d.obj)
	if m == nil {
		return
	}
	if m.Name == "" {
		c.fail(d, "metadata.name is required")
	} else {
		var errs []string
		if d.gvk.Kind == "Service" {
			errs = validation.IsDNS1035Label(m.Name)
		} else {
			errs = validation.IsDNS1123Subdomain(m.Name)
		}
		for _, e := range errs {
			c.fail(d, "metadata.name %q: %s", m.Name, e)
		}
	}
	c.checkLabels(d, "metadata.labels", m.Labels)
	for k := range m.Annotations {
		for _, e := range validation.IsQualifiedName(strings.ToLower(k)) {
			c.fail(d, "metadata.annotations key %q: %s", k, e)
		}
	}
}

func (c *checker) checkLabels(d *doc, where string, l map[string]string) {
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			c.fail(d, "%s key %q: %s", where, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			c.fail(d, "%s[%s] value %q: %s", where, k, v, e)
		}
	}
}

// checkSelector: a workload's selector must be set and match its template.
func (c *checker) checkSelector(d *doc, sel *metav1.LabelSelector, tmpl map[string]string) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		c.fail(d, "spec.selector is required and must not be empty")
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.fail(d, "spec.selector: %v", err)
		return
	}
	if !s.Matches(labels.Set(tmpl)) {
		c.fail(d, "spec.selector %s does not match the pod template's labels %v", s, tmpl)
	}
	c.checkLabels(d, "spec.template.metadata.labels", tmpl)
}

// podsSelectedBy returns the pod templates of this render a selector picks.
func (c *checker) podsSelectedBy(sel labels.Selector) []podTemplate {
	var out []podTemplate
	for _, p := range c.pods {
		if p.owner.gvk.Kind == "Pod" {
			continue // a bare (test) pod is nobody's replica
		}
		if sel.Matches(labels.Set(p.labels)) {
			out = append(out, p)
		}
	}
	return out
}

var allowedVolumeTypes = "configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret"

// checkPodSpec: references resolve, and the restricted profile holds.
func (c *checker) checkPodSpec(d *doc, s *corev1.PodSpec, restart ...corev1.RestartPolicy) {
	if s.RestartPolicy != "" {
		ok := false
		for _, r := range restart {
			ok = ok || s.RestartPolicy == r
		}
		if !ok {
			c.fail(d, "restartPolicy %s is not allowed here (%v)", s.RestartPolicy, restart)
		}
	} else if restart[0] != corev1.RestartPolicyAlways {
		c.fail(d, "restartPolicy is required (Never or OnFailure)")
	}
	if len(s.Containers) == 0 {
		c.fail(d, "a pod needs at least one container")
	}
	volumes := map[string]bool{}
	for _, v := range s.Volumes {
		for _, e := range validation.IsDNS1123Label(v.Name) {
			c.fail(d, "volume name %q: %s", v.Name, e)
		}
		if volumes[v.Name] {
			c.fail(d, "volume %q declared twice", v.Name)
		}
		volumes[v.Name] = true
		if n := countVolumeSources(&v.VolumeSource); n != 1 {
			c.fail(d, "volume %q has %d sources, needs exactly one", v.Name, n)
		}
		if !restrictedVolume(&v.VolumeSource) {
			c.fail(d, "restricted: volume %q is of a type the restricted profile forbids (allowed: %s)", v.Name, allowedVolumeTypes)
		}
	}
	c.checkPodSecurity(d, s)
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, s.InitContainers...), s.Containers...)
	for i := range all {
		ct := &all[i]
		if names[ct.Name] {
			c.fail(d, "container name %q used twice", ct.Name)
		}
		names[ct.Name] = true
		c.checkContainer(d, s, ct, volumes)
	}
	for i := range s.EphemeralContainers {
		c.checkRestrictedContainer(d, s, "ephemeral container "+s.EphemeralContainers[i].Name,
			s.EphemeralContainers[i].SecurityContext)
	}
}

func countVolumeSources(v *corev1.VolumeSource) int {
	b, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return len(m)
}

func restrictedVolume(v *corev1.VolumeSource) bool {
	return v.ConfigMap != nil || v.CSI != nil || v.DownwardAPI != nil || v.EmptyDir != nil ||
		v.Ephemeral != nil || v.PersistentVolumeClaim != nil || v.Projected != nil || v.Secret != nil
}

func (c *checker) checkContainer(d *doc, s *corev1.PodSpec, ct *corev1.Container, volumes map[string]bool) {
	where := "container " + ct.Name
	for _, e := range validation.IsDNS1123Label(ct.Name) {
		c.fail(d, "%s: name: %s", where, e)
	}
	if ct.Image == "" {
		c.fail(d, "%s: image is required", where)
	}
	ports := map[string]bool{}
	for _, p := range ct.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			c.fail(d, "%s: containerPort %d is not 1..65535", where, p.ContainerPort)
		}
		if p.Name != "" {
			for _, e := range validation.IsValidPortName(p.Name) {
				c.fail(d, "%s: port name %q: %s", where, p.Name, e)
			}
			if ports[p.Name] {
				c.fail(d, "%s: port name %q used twice", where, p.Name)
			}
			ports[p.Name] = true
		}
		if p.HostPort != 0 {
			c.fail(d, "restricted: %s: hostPort %d", where, p.HostPort)
		}
	}
	for kind, pr := range map[string]*corev1.Probe{"livenessProbe": ct.LivenessProbe,
		"readinessProbe": ct.ReadinessProbe, "startupProbe": ct.StartupProbe} {
		if pr == nil {
			continue
		}
		var port *intstr.IntOrString
		switch {
		case pr.HTTPGet != nil:
			port = &pr.HTTPGet.Port
		case pr.TCPSocket != nil:
			port = &pr.TCPSocket.Port
		case pr.Exec == nil && pr.GRPC == nil:
			c.fail(d, "%s: %s has no handler", where, kind)
		}
		if port != nil {
			if port.Type == intstr.String && !ports[port.StrVal] {
				c.fail(d, "%s: %s port %q is not a port of the container", where, kind, port.StrVal)
			} else if port.Type == intstr.Int && (port.IntVal < 1 || port.IntVal > 65535) {
				c.fail(d, "%s: %s port %d is not 1..65535", where, kind, port.IntVal)
			}
		}
	}
	for _, e := range ct.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			c.fail(d, "%s: env %q: %s", where, e.Name, msg)
		}
		if e.ValueFrom != nil && e.Value != "" {
			c.fail(d, "%s: env %q has both value and valueFrom", where, e.Name)
		}
	}
	for _, m := range ct.VolumeMounts {
		if !volumes[m.Name] {
			c.fail(d, "%s: volumeMount %q names no volume of the pod", where, m.Name)
		}
		if !strings.HasPrefix(m.MountPath, "/") {
			c.fail(d, "%s: volumeMount %q: mountPath %q is not absolute", where, m.Name, m.MountPath)
		}
	}
	for name, req := range ct.Resources.Requests {
		if lim, ok := ct.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
			c.fail(d, "%s: %s request %s is above its limit %s", where, name, req.String(), lim.String())
		}
	}
	c.checkRestrictedContainer(d, s, where, ct.SecurityContext)
}

// checkPodSecurity: the pod-level half of the restricted profile.
func (c *checker) checkPodSecurity(d *doc, s *corev1.PodSpec) {
	if s.HostNetwork || s.HostPID || s.HostIPC {
		c.fail(d, "restricted: hostNetwork, hostPID and hostIPC must be false")
	}
	if sc := s.SecurityContext; sc != nil {
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			c.fail(d, "restricted: securityContext.runAsUser is 0")
		}
		if len(sc.Sysctls) > 0 {
			c.fail(d, "restricted: securityContext.sysctls are not allowed here")
		}
	}
}

// checkRestrictedContainer: the restricted Pod Security Standard for one
// container (its own context, falling back to the pod's where the standard
// allows), plus readOnlyRootFilesystem, which this project requires.
func (c *checker) checkRestrictedContainer(d *doc, s *corev1.PodSpec, where string, sc *corev1.SecurityContext) {
	psc := s.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		c.fail(d, "restricted: %s: runAsNonRoot must be true (container or pod)", where)
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		c.fail(d, "restricted: %s: runAsUser is 0", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		c.fail(d, "restricted: %s: privileged", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		c.fail(d, "restricted: %s: allowPrivilegeEscalation must be false", where)
	}
	dropAll := false
	if sc.Capabilities != nil {
		for _, cap := range sc.Capabilities.Drop {
			dropAll = dropAll || cap == "ALL"
		}
		for _, cap := range sc.Capabilities.Add {
			if cap != "NET_BIND_SERVICE" {
				c.fail(d, "restricted: %s: capability %s added", where, cap)
			}
		}
	}
	if !dropAll {
		c.fail(d, "restricted: %s: capabilities.drop must contain ALL", where)
	}
	prof := sc.SeccompProfile
	if prof == nil {
		prof = psc.SeccompProfile
	}
	if prof == nil || (prof.Type != corev1.SeccompProfileTypeRuntimeDefault && prof.Type != corev1.SeccompProfileTypeLocalhost) {
		c.fail(d, "restricted: %s: seccompProfile must be RuntimeDefault or Localhost (container or pod)", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		c.fail(d, "%s: readOnlyRootFilesystem must be true", where)
	}
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		c.fail(d, "restricted: %s: procMount must be Default", where)
	}
}

func (c *checker) checkService(d *doc, s *corev1.Service) {
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if len(s.Spec.Ports) == 0 {
		c.fail(d, "a Service needs at least one port")
	}
	for _, p := range s.Spec.Ports {
		if p.Port < 1 || p.Port > 65535 {
			c.fail(d, "port %d is not 1..65535", p.Port)
		}
	}
	if len(s.Spec.Selector) == 0 {
		return // endpoints managed elsewhere
	}
	pods := c.podsSelectedBy(labels.SelectorFromSet(s.Spec.Selector))
	if len(pods) == 0 {
		c.fail(d, "selector %v matches no pod template of this render", s.Spec.Selector)
		return
	}
	for _, p := range s.Spec.Ports {
		if p.TargetPort.Type != intstr.String {
			continue
		}
		for _, pod := range pods {
			if !hasPortName(pod.spec, p.TargetPort.StrVal) {
				c.fail(d, "targetPort %q is not a port of %s", p.TargetPort.StrVal, pod.owner)
			}
		}
	}
}

func hasPortName(s *corev1.PodSpec, name string) bool {
	for _, ct := range s.Containers {
		for _, p := range ct.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkConfigMap(d *doc, cm *corev1.ConfigMap) {
	for k, v := range cm.Data {
		for _, e := range validation.IsConfigMapKey(k) {
			c.fail(d, "data key %q: %s", k, e)
		}
		if strings.HasSuffix(k, ".json") {
			var any interface{}
			if err := json.Unmarshal([]byte(v), &any); err != nil {
				c.fail(d, "data[%s] is not JSON: %v", k, err)
				continue
			}
			c.checkMetricNames(d, "data["+k+"]", v)
		}
	}
}

func (c *checker) checkPDB(d *doc, p *policyv1.PodDisruptionBudget) {
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		c.fail(d, "exactly one of minAvailable and maxUnavailable must be set")
	}
	if p.Spec.Selector == nil {
		c.fail(d, "spec.selector is required")
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil {
		c.fail(d, "spec.selector: %v", err)
		return
	}
	if len(c.podsSelectedBy(sel)) == 0 {
		c.fail(d, "selector %s matches no pod template of this render", sel)
	}
}

// findWorkload returns the document of the scale target, if rendered.
func (c *checker) findWorkload(kind, name string) *doc {
	for _, o := range c.docs {
		if o.gvk.Kind == kind && o.name == name {
			return o
		}
	}
	return nil
}

func (c *checker) checkHPA(d *doc, h *autoscalingv2.HorizontalPodAutoscaler) {
	ref := h.Spec.ScaleTargetRef
	if ref.Kind == "" || ref.Name == "" {
		c.fail(d, "scaleTargetRef needs kind and name")
	} else if c.findWorkload(ref.Kind, ref.Name) == nil {
		c.fail(d, "scaleTargetRef %s/%s is not in this render", ref.Kind, ref.Name)
	}
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > h.Spec.MaxReplicas {
		c.fail(d, "minReplicas %d is above maxReplicas %d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if h.Spec.MaxReplicas < 1 {
		c.fail(d, "maxReplicas must be at least 1")
	}
	if len(h.Spec.Metrics) == 0 {
		c.fail(d, "no metrics")
	}
	for i, m := range h.Spec.Metrics {
		ok := false
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			ok = m.Resource != nil && m.Resource.Name != ""
		case autoscalingv2.ExternalMetricSourceType:
			ok = m.External != nil && m.External.Metric.Name != ""
		case autoscalingv2.PodsMetricSourceType:
			ok = m.Pods != nil && m.Pods.Metric.Name != ""
		case autoscalingv2.ObjectMetricSourceType:
			ok = m.Object != nil && m.Object.Metric.Name != ""
		case autoscalingv2.ContainerResourceMetricSourceType:
			ok = m.ContainerResource != nil
		}
		if !ok {
			c.fail(d, "metrics[%d]: type %q without its matching source", i, m.Type)
		}
	}
	if w := c.findWorkload(ref.Kind, ref.Name); w != nil {
		if dep, isDep := w.obj.(*appsv1.Deployment); isDep && dep.Spec.Replicas != nil {
			c.fail(d, "%s sets spec.replicas while an HPA scales it: every upgrade would reset the scaled count", w)
		}
	}
}

func (c *checker) checkScaledObject(d *doc, so *ScaledObject) {
	s := so.Spec
	if s.ScaleTargetRef == nil || s.ScaleTargetRef.Name == "" {
		c.fail(d, "spec.scaleTargetRef.name is required")
	} else {
		kind := s.ScaleTargetRef.Kind
		if kind == "" {
			kind = "Deployment"
		}
		w := c.findWorkload(kind, s.ScaleTargetRef.Name)
		if w == nil {
			c.fail(d, "scaleTargetRef %s/%s is not in this render", kind, s.ScaleTargetRef.Name)
		} else if dep, isDep := w.obj.(*appsv1.Deployment); isDep && dep.Spec.Replicas != nil {
			c.fail(d, "%s sets spec.replicas while KEDA scales it: every upgrade would reset the scaled count", w)
		}
	}
	if s.MinReplicaCount != nil && s.MaxReplicaCount != nil && *s.MinReplicaCount > *s.MaxReplicaCount {
		c.fail(d, "minReplicaCount %d is above maxReplicaCount %d", *s.MinReplicaCount, *s.MaxReplicaCount)
	}
	if len(s.Triggers) == 0 {
		c.fail(d, "spec.triggers must not be empty")
	}
	for i, t := range s.Triggers {
		if t.Type == "" {
			c.fail(d, "triggers[%d].type is required", i)
		}
		if t.Metadata == nil {
			c.fail(d, "triggers[%d].metadata is required", i)
		}
		if t.Type == "kafka" {
			for _, k := range []string{"bootstrapServers", "consumerGroup", "topic"} {
				if t.Metadata[k] == "" {
					c.fail(d, "triggers[%d] (kafka): metadata.%s is required", i, k)
				}
			}
		}
		if t.Type == "prometheus" {
			for _, k := range []string{"serverAddress", "query", "threshold"} {
				if t.Metadata[k] == "" {
					c.fail(d, "triggers[%d] (prometheus): metadata.%s is required", i, k)
				}
			}
			c.checkMetricNames(d, fmt.Sprintf("triggers[%d].metadata.query", i), t.Metadata["query"])
		}
	}
}

func (c *checker) checkServiceMonitor(d *doc, sm *monitoringv1.ServiceMonitor) {
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		c.fail(d, "spec.selector: %v", err)
		return
	}
	var services []*corev1.Service
	for _, o := range c.docs {
		if s, ok := o.obj.(*corev1.Service); ok && sel.Matches(labels.Set(s.Labels)) {
			services = append(services, s)
		}
	}
	if len(services) == 0 {
		c.fail(d, "selector %s matches no Service of this render", sel)
	}
	if len(sm.Spec.Endpoints) == 0 {
		c.fail(d, "spec.endpoints must not be empty")
	}
	for i, ep := range sm.Spec.Endpoints {
		if ep.Port == "" {
			continue
		}
		for _, s := range services {
			found := false
			for _, p := range s.Spec.Ports {
				found = found || p.Name == ep.Port
			}
			if !found {
				c.fail(d, "endpoints[%d].port %q is not a port of Service %s", i, ep.Port, s.Name)
			}
		}
		if ep.Interval != "" && !durationRE.MatchString(string(ep.Interval)) {
			c.fail(d, "endpoints[%d].interval %q is not a duration", i, ep.Interval)
		}
	}
}

// Prometheus durations, as the Prometheus Operator's CRD patterns them.
var durationRE = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

func (c *checker) checkPrometheusRule(d *doc, pr *monitoringv1.PrometheusRule) {
	if len(pr.Spec.Groups) == 0 {
		c.fail(d, "spec.groups must not be empty")
	}
	for _, g := range pr.Spec.Groups {
		if g.Name == "" {
			c.fail(d, "a rule group needs a name")
		}
		for _, r := range g.Rules {
			id := r.Alert + r.Record
			if (r.Alert == "") == (r.Record == "") {
				c.fail(d, "group %s: a rule needs exactly one of alert and record", g.Name)
			}
			expr := r.Expr.String()
			if strings.TrimSpace(expr) == "" || expr == "0" {
				c.fail(d, "rule %s: expr is empty", id)
			}
			if !balanced(expr) {
				c.fail(d, "rule %s: unbalanced brackets or quotes in expr %q", id, expr)
			}
			if r.For != nil && !durationRE.MatchString(string(*r.For)) {
				c.fail(d, "rule %s: for %q is not a duration", id, *r.For)
			}
			for k := range r.Labels {
				if !regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`).MatchString(k) {
					c.fail(d, "rule %s: label name %q", id, k)
				}
			}
			c.checkMetricNames(d, "rule "+id, expr)
		}
	}
}

// balanced: (), [], {} nest and double quotes close. A PromQL parser would
// be better; this catches what a template typo usually breaks.
func balanced(s string) bool {
	var stack []rune
	inQuote := false
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for i, r := range s {
		if inQuote {
			if r == '"' && (i == 0 || s[i-1] != '\\') {
				inQuote = false
			}
			continue
		}
		switch r {
		case '"':
			inQuote = true
		case '(', '[', '{':
			stack = append(stack, r)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return !inQuote && len(stack) == 0
}

var metricRE = regexp.MustCompile(`\bquakecast_[a-z0-9_]+`)

// checkMetricNames: every quakecast_* series an expression reads must be
// one the binaries export (histograms add _bucket, _sum and _count).
func (c *checker) checkMetricNames(d *doc, where, expr string) {
	if c.metrics == nil {
		return
	}
	var unknown []string
	for _, m := range metricRE.FindAllString(expr, -1) {
		base := m
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(m, suf) && c.metrics[strings.TrimSuffix(m, suf)] {
				base = strings.TrimSuffix(m, suf)
			}
		}
		if !c.metrics[base] {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		c.fail(d, "%s reads metrics no quakecast binary exports: %s", where, strings.Join(unknown, ", "))
	}
}
