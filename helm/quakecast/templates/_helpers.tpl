{{/*
Names. The full name is the release name, plus the chart name unless the
release name already contains it, cut to 63 characters (DNS label) less room
for the longest suffix used here ("-dispatcher", 11).
*/}}
{{- define "quakecast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "quakecast.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "quakecast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "quakecast.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object; selectorLabels are the immutable subset. */}}
{{- define "quakecast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "quakecast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: quakecast
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "quakecast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quakecast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Usage: include "quakecast.componentLabels" (list . "processor") */}}
{{- define "quakecast.componentLabels" -}}
{{ include "quakecast.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "quakecast.componentSelector" -}}
{{ include "quakecast.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Usage: include "quakecast.image" (list . .Values.processor.image) */}}
{{- define "quakecast.image" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- $tag := $img.tag | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.image.registry) $img.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The restricted Pod Security Standard, for every pod the chart makes. Not
taken from values on purpose: a values file cannot weaken it.
*/}}
{{- define "quakecast.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "quakecast.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Warm floor: dispatchers needed to hand off capacity.expectedSubscribers
within capacity.handoffTargetSeconds at capacity.dispatcherRate each, the
formula of qc_sizing_dispatchers_desired() (shared/src/sizing.c) that the
processor exports as quakecast_dispatchers_desired. 0 with no subscribers.
*/}}
{{- define "quakecast.warmFloor" -}}
{{- $c := .Values.capacity -}}
{{- $n := float64 $c.expectedSubscribers -}}
{{- if le $n 0.0 -}}
0
{{- else -}}
{{- ceil (divf $n (mulf (float64 $c.dispatcherRate) (float64 $c.handoffTargetSeconds))) | int -}}
{{- end -}}
{{- end -}}

{{- define "quakecast.dispatcher.minReplicas" -}}
{{- max (int .Values.dispatcher.autoscaling.minReplicas) (int (include "quakecast.warmFloor" .)) -}}
{{- end -}}

{{- define "quakecast.dispatcher.staticReplicas" -}}
{{- max (int .Values.dispatcher.replicas) (int (include "quakecast.warmFloor" .)) -}}
{{- end -}}

{{- define "quakecast.autoscaled" -}}
{{- if or .Values.dispatcher.autoscaling.hpa.enabled .Values.dispatcher.autoscaling.keda.enabled -}}true{{- end -}}
{{- end -}}

{{/*
Checks that JSON schema cannot express; rendered once (configmap.yaml), so
an invalid combination fails `helm template`, `helm install` and `helm lint`.
*/}}
{{- define "quakecast.validate" -}}
{{- $a := .Values.dispatcher.autoscaling -}}
{{- $parts := int .Values.topics.dispatchPartitions -}}
{{- $floor := int (include "quakecast.warmFloor" .) -}}
{{- if and $a.hpa.enabled $a.keda.enabled -}}
{{- fail "dispatcher.autoscaling: hpa.enabled and keda.enabled are both true; a ScaledObject makes its own HPA, and two autoscalers on one Deployment fight. Turn one off." -}}
{{- end -}}
{{- if include "quakecast.autoscaled" . -}}
{{- if gt (int $a.maxReplicas) $parts -}}
{{- fail (printf "dispatcher.autoscaling.maxReplicas (%d) is above topics.dispatchPartitions (%d): a dispatcher without a partition of quake.dispatch gets no work. Raise the partitions first." (int $a.maxReplicas) $parts) -}}
{{- end -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "dispatcher.autoscaling.minReplicas (%d) is above maxReplicas (%d)" (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- if gt $floor (int $a.maxReplicas) -}}
{{- fail (printf "capacity: %d subscribers in %v s at %v hand-offs/s each need %d dispatchers, above dispatcher.autoscaling.maxReplicas (%d); raise it and topics.dispatchPartitions" (int64 .Values.capacity.expectedSubscribers) .Values.capacity.handoffTargetSeconds .Values.capacity.dispatcherRate $floor (int $a.maxReplicas)) -}}
{{- end -}}
{{- if and $a.hpa.enabled (eq (int $a.cpuUtilization) 0) (not $a.hpa.warmCapacity.enabled) (not $a.hpa.pendingWork.enabled) -}}
{{- fail "dispatcher.autoscaling.hpa: no metric left (cpuUtilization 0, warmCapacity and pendingWork off)" -}}
{{- end -}}
{{- if and $a.keda.enabled $a.keda.warmCapacity.enabled (not $a.keda.warmCapacity.serverAddress) -}}
{{- fail "dispatcher.autoscaling.keda.warmCapacity.serverAddress is required (the Prometheus KEDA queries)" -}}
{{- end -}}
{{- else -}}
{{- $n := int (include "quakecast.dispatcher.staticReplicas" .) -}}
{{- if gt $n $parts -}}
{{- fail (printf "dispatcher.replicas (%d, after the warm floor) is above topics.dispatchPartitions (%d): a dispatcher without a partition of quake.dispatch gets no work" $n $parts) -}}
{{- end -}}
{{- end -}}
{{- range $component := list "processor" "dispatcher" -}}
{{- range $key, $_ := (index $.Values $component).env -}}
{{- if has $key (list "QUAKECAST_KAFKA_BOOTSTRAP" "QUAKECAST_REDIS_URL" "QUAKECAST_API_TOKEN" "QUAKECAST_API_TOKEN_FILE" "QUAKECAST_HTTP_ADDR" "QUAKECAST_HTTP_PORT" "QUAKECAST_INSTANCE" "QUAKECAST_LOG_LEVEL" "QUAKECAST_WEBHOOK_ALLOW_PRIVATE" "QUAKECAST_WEBHOOK_ALLOW_CIDRS" "QUAKECAST_DISPATCH_PARTITIONS" "QUAKECAST_DISPATCHER_RATE" "QUAKECAST_HANDOFF_TARGET" "QUAKECAST_ALERT_DEADLINE") -}}
{{- fail (printf "%s.env.%s is set by the chart from other values (README \"Deploy\")" $component $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not .Values.api.existingSecret -}}
{{- fail "api.existingSecret is required: the Secret with the admin token (kubectl create secret generic quakecast-api --from-literal=token=...)" -}}
{{- end -}}
{{- include "quakecast.validateAuth" . -}}
{{- end -}}

{{/* QUAKECAST_* variables both binaries get (the ConfigMaps' common part). */}}
{{- define "quakecast.commonConfig" -}}
QUAKECAST_KAFKA_BOOTSTRAP: {{ .Values.kafka.bootstrap | quote }}
{{- if not .Values.redis.existingSecret }}
QUAKECAST_REDIS_URL: {{ .Values.redis.url | quote }}
{{- end }}
QUAKECAST_LOG_LEVEL: {{ .Values.logLevel | quote }}
QUAKECAST_WEBHOOK_ALLOW_PRIVATE: {{ ternary "1" "0" .Values.webhookAllowPrivate | quote }}
QUAKECAST_WEBHOOK_ALLOW_CIDRS: {{ .Values.webhookAllowCidrs | quote }}
QUAKECAST_HTTP_ADDR: "0.0.0.0"
{{- include "quakecast.kafkaProperties" . }}
{{- end -}}

{{/* kafka.properties as QUAKECAST_KAFKA_X_<PROPERTY> ("." read as "_"). */}}
{{- define "quakecast.kafkaProperties" -}}
{{- range $k, $v := .Values.kafka.properties }}
{{ printf "QUAKECAST_KAFKA_X_%s" ($k | replace "." "_" | upper) }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Environment from Secrets, shared by every pod that talks to Kafka/Redis. */}}
{{- define "quakecast.secretEnv" -}}
{{- if .Values.redis.existingSecret -}}
- name: QUAKECAST_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- end }}
{{- end -}}

{{- define "quakecast.kafkaEnvFrom" -}}
{{- if .Values.kafka.existingSecret -}}
- secretRef:
    name: {{ .Values.kafka.existingSecret }}
{{- end }}
{{- end -}}

{{/* Preferred spreading over nodes and zones when none is given. */}}
{{- define "quakecast.topologySpread" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $given := (index $root.Values $component).topologySpreadConstraints -}}
{{- if $given -}}
{{ toYaml $given }}
{{- else -}}
{{- range $i, $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
{{- if $i }}{{ "\n" }}{{ end -}}
- maxSkew: 1
  topologyKey: {{ $key }}
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "quakecast.componentSelector" (list $root $component) | nindent 6 }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The processor's metric selector in PromQL, for rules and KEDA. */}}
{{- define "quakecast.promSelector" -}}
{{- $root := index . 0 -}}
{{- printf "namespace=%q, job=%q" $root.Release.Namespace (printf "%s-%s" (include "quakecast.fullname" $root) (index . 1)) -}}
{{- end -}}

{{/* PDB budget: minAvailable when set, else maxUnavailable. */}}
{{- define "quakecast.pdbBudget" -}}
{{- if not (kindIs "invalid" .minAvailable) -}}
minAvailable: {{ .minAvailable }}
{{- else -}}
maxUnavailable: {{ .maxUnavailable }}
{{- end -}}
{{- end -}}

{{/* Authenticated links (docs/SECURITY.md): a component's ("processor",
     "dispatcher"; the topic Job logs in to Kafka as the processor) Redis
     ACL user and Kafka SASL user, passwords mounted from Secrets as files,
     and the CA the Kafka client checks the brokers against. */}}
{{- define "quakecast.kafkaSecurityProtocol" -}}
{{- $k := .Values.kafka -}}
{{- if and $k.sasl.enabled $k.tls.enabled -}}SASL_SSL
{{- else if $k.sasl.enabled -}}SASL_PLAINTEXT
{{- else if $k.tls.enabled -}}SSL
{{- end -}}
{{- end -}}

{{- define "quakecast.authEnv" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $ra := $root.Values.redis.auth -}}
{{- $ks := $root.Values.kafka.sasl -}}
{{- $kt := $root.Values.kafka.tls -}}
{{- if and $ra.enabled (ne $c "topics") }}
- name: QUAKECAST_REDIS_USER
  value: {{ (index $ra $c).user | quote }}
- name: QUAKECAST_REDIS_PASSWORD_FILE
  value: /var/run/secrets/quakecast/redis/{{ (index $ra $c).passwordKey }}
{{- end }}
{{- with include "quakecast.kafkaSecurityProtocol" $root }}
- name: QUAKECAST_KAFKA_X_SECURITY_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- if $ks.enabled }}
{{- $u := index $ks (ternary "processor" $c (eq $c "topics")) }}
- name: QUAKECAST_KAFKA_X_SASL_MECHANISMS
  value: {{ $ks.mechanism | quote }}
- name: QUAKECAST_KAFKA_X_SASL_USERNAME
  value: {{ $u.user | quote }}
- name: QUAKECAST_KAFKA_X_SASL_PASSWORD_FILE
  value: /var/run/secrets/quakecast/kafka/{{ $u.passwordKey }}
{{- end }}
{{- if and $kt.enabled $kt.caSecret }}
- name: QUAKECAST_KAFKA_X_SSL_CA_LOCATION
  value: /var/run/secrets/quakecast/kafka-ca/{{ $kt.caKey }}
{{- end }}
{{- end -}}

{{- define "quakecast.authVolumeMounts" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- if and $root.Values.redis.auth.enabled (ne $c "topics") }}
- name: redis-auth
  mountPath: /var/run/secrets/quakecast/redis
  readOnly: true
{{- end }}
{{- if $root.Values.kafka.sasl.enabled }}
- name: kafka-sasl
  mountPath: /var/run/secrets/quakecast/kafka
  readOnly: true
{{- end }}
{{- if and $root.Values.kafka.tls.enabled $root.Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /var/run/secrets/quakecast/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Only the component's own key of each Secret is mounted. */}}
{{- define "quakecast.authVolumes" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $ra := $root.Values.redis.auth -}}
{{- $ks := $root.Values.kafka.sasl -}}
{{- $kt := $root.Values.kafka.tls -}}
{{- if and $ra.enabled (ne $c "topics") }}
- name: redis-auth
  secret:
    secretName: {{ $ra.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ (index $ra $c).passwordKey }}
        path: {{ (index $ra $c).passwordKey }}
{{- end }}
{{- if $ks.enabled }}
{{- $u := index $ks (ternary "processor" $c (eq $c "topics")) }}
- name: kafka-sasl
  secret:
    secretName: {{ $ks.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $u.passwordKey }}
        path: {{ $u.passwordKey }}
{{- end }}
{{- if and $kt.enabled $kt.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $kt.caSecret }}
    defaultMode: 0444
    items:
      - key: {{ $kt.caKey }}
        path: {{ $kt.caKey }}
{{- end }}
{{- end -}}

{{- define "quakecast.validateAuth" -}}
{{- if and .Values.redis.auth.enabled (not .Values.redis.auth.existingSecret) -}}
{{- fail "redis.auth.enabled needs redis.auth.existingSecret: the Secret with the processor's and the dispatcher's Redis passwords" -}}
{{- end -}}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.enabled needs kafka.sasl.existingSecret: the Secret with the processor's and the dispatcher's Kafka passwords" -}}
{{- end -}}
{{- if and (include "quakecast.kafkaSecurityProtocol" .) (hasKey .Values.kafka.properties "security.protocol") -}}
{{- fail "kafka.properties.security.protocol is set by the chart from kafka.sasl and kafka.tls" -}}
{{- end -}}
{{- end -}}
