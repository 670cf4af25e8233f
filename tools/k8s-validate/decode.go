package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// KubernetesVersion is what the manifests are checked against: the release
// of k8s.io/api in go.mod. Only group versions that release serves are
// registered, so a removed one (policy/v1beta1, autoscaling/v2beta2, ...)
// is an error, as it would be on the cluster.
const KubernetesVersion = "1.32"

// doc is one YAML document of a rendered file.
type doc struct {
	file  string
	index int // 1-based position in the file
	gvk   schema.GroupVersionKind
	name  string
	ns    string
	obj   runtime.Object // typed object; nil when decoding failed
	raw   []byte         // the document as JSON
}

func (d *doc) String() string {
	return fmt.Sprintf("%s: document %d (%s %s)", d.file, d.index, d.gvk.Kind, d.name)
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, schedulingv1.AddToScheme,
		storagev1.AddToScheme, coordinationv1.AddToScheme, discoveryv1.AddToScheme,
		monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // a registration conflict is a programming error
		}
	}
	return s
}

// splitYAML returns the non-empty documents of a multi-document stream.
func splitYAML(data []byte) ([][]byte, error) {
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
}

// isBlank: a document of comments and whitespace only (helm leaves these
// for templates whose condition is false).
func isBlank(d []byte) bool {
	for _, line := range strings.Split(string(d), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// decoder turns documents into typed objects, strictly: an unknown field, a
// duplicate key or a value of the wrong type is an error.
type decoder struct {
	scheme *runtime.Scheme
	strict *kjson.Serializer
}

func newDecoder() *decoder {
	s := newScheme()
	return &decoder{
		scheme: s,
		strict: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s,
			kjson.SerializerOptions{Yaml: false, Pretty: false, Strict: true}),
	}
}

// decode fills d from its YAML; problems are returned as messages.
func (dc *decoder) decode(d *doc, y []byte) []string {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return []string{"not valid YAML: " + err.Error()}
	}
	d.raw = j
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return []string{"not an object with apiVersion, kind and metadata: " + err.Error()}
	}
	d.name, d.ns = head.Metadata.Name, head.Metadata.Namespace
	if head.APIVersion == "" || head.Kind == "" {
		return []string{"apiVersion and kind are required"}
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return []string{"bad apiVersion: " + err.Error()}
	}
	d.gvk = gv.WithKind(head.Kind)

	if d.gvk == scaledObjectGVK {
		obj, msgs := decodeScaledObject(j)
		if obj != nil {
			d.obj = obj
		}
		return msgs
	}
	if !dc.scheme.Recognizes(d.gvk) {
		return []string{fmt.Sprintf("%s is not served by Kubernetes %s and is not a custom resource this validator knows (KEDA ScaledObject, Prometheus Operator ServiceMonitor/PrometheusRule)", d.gvk.GroupVersion().String()+"/"+d.gvk.Kind, KubernetesVersion)}
	}
	obj, _, err := dc.strict.Decode(j, &d.gvk, nil)
	if err != nil {
		if obj != nil && runtime.IsStrictDecodingError(err) {
			d.obj = obj // unknown fields: still run the other checks
		}
		return splitStrictErrors(err)
	}
	d.obj = obj
	return nil
}

// splitStrictErrors gives one message per unknown or duplicate field.
func splitStrictErrors(err error) []string {
	if se, ok := runtime.AsStrictDecodingError(err); ok {
		var out []string
		for _, e := range se.Errors() {
			out = append(out, "strict decoding: "+e.Error())
		}
		return out
	}
	return []string{"decoding: " + err.Error()}
}

// ---------------------------------------------------------------- KEDA --

// KEDA's Go module pulls half of the Kubernetes ecosystem in; its
// ScaledObject (keda.sh/v1alpha1, KEDA 2.x) is written out here instead,
// every field of the CRD's spec, typed as the CRD types them, so that
// decoding with unknown fields refused checks it as strictly as the
// built-in kinds. The HPA behaviour uses the real autoscaling/v2 type.
var scaledObjectGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}

type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ScaledObjectSpec `json:"spec"`
}

func (s *ScaledObject) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTriggers `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HPAConfig       `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool             `json:"restoreToOriginalReplicaCount,omitempty"`
	ScalingModifiers              *ScalingModifier `json:"scalingModifiers,omitempty"`
}

type HPAConfig struct {
	Name     string                                         `json:"name,omitempty"`
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

type ScalingModifier struct {
	Formula          string `json:"formula,omitempty"`
	Target           string `json:"target,omitempty"`
	ActivationTarget string `json:"activationTarget,omitempty"`
	MetricType       string `json:"metricType,omitempty"`
}

type ScaleTriggers struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type Fallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

func decodeScaledObject(j []byte) (*ScaledObject, []string) {
	var so ScaledObject
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&so); err != nil {
		return nil, []string{"strict decoding: " + err.Error()}
	}
	return &so, nil
}
