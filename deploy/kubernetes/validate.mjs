// Validates the rendered manifests offline: every object against the Kubernetes OpenAPI schema (through the
// kubernetes-models package), then the invariants Builtiful depends on. No cluster is needed.
//
//   npm install --prefix /tmp/k8s-validate kubernetes-models@5 yaml@2
//   kubectl kustomize deploy/kubernetes | node deploy/kubernetes/validate.mjs /tmp/k8s-validate/node_modules deploy/kubernetes/secret.example.yaml
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, secretsFile] = process.argv.slice(2);
if (!modules || !secretsFile) {
  console.error("usage: node validate.mjs <node_modules with kubernetes-models and yaml> <secret.example.yaml> < rendered.yaml");
  process.exit(2);
}

const load = (file) => import(pathToFileURL(path.join(modules, file)).href);
const { parseAllDocuments } = await load("yaml/dist/index.js");
const documents = (text) => parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);

const problems = [];
const objects = documents(readFileSync(0, "utf8"));
const secrets = documents(readFileSync(secretsFile, "utf8"));

for (const object of [...objects, ...secrets]) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : [null, object.apiVersion];
  const module = path.join("kubernetes-models", ...(group ? [group, version] : [version]), `${object.kind}.js`);
  try {
    const model = (await load(module))[object.kind];
    new model(object).validate();
    console.log(`valid   ${object.kind}/${object.metadata.name}`);
  } catch (error) {
    problems.push(`${object.kind}/${object.metadata?.name}: ${error.message}`);
  }
}

const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const config = find("ConfigMap", "builtiful-config")?.data ?? {};
const silo = find("Deployment", "builtiful-silo");
const gateway = find("Deployment", "builtiful-gateway");

// A silo killed before its graceful shutdown ends loses the hand-over of its grains and reminders.
const grace = silo?.spec.template.spec.terminationGracePeriodSeconds ?? 30;
if (!(grace > Number(config.shutdownTimeoutSeconds ?? 30))) {
  problems.push(`silo terminationGracePeriodSeconds ${grace} must exceed shutdownTimeoutSeconds ${config.shutdownTimeoutSeconds}`);
}

const siloEnv = silo?.spec.template.spec.containers[0].env ?? [];
if (siloEnv.find((e) => e.name === "Orleans__AdvertisedIPAddress")?.valueFrom?.fieldRef?.fieldPath !== "status.podIP") {
  problems.push("silo must advertise its pod IP: Orleans__AdvertisedIPAddress from status.podIP");
}

for (const deployment of [silo, gateway]) {
  const container = deployment?.spec.template.spec.containers[0];
  if (container?.livenessProbe?.httpGet?.path !== "/healthz" || container?.readinessProbe?.httpGet?.path !== "/readyz") {
    problems.push(`${deployment?.metadata.name}: liveness must probe /healthz and readiness /readyz`);
  }

  if (container?.securityContext?.readOnlyRootFilesystem !== true || deployment.spec.template.spec.securityContext?.runAsNonRoot !== true) {
    problems.push(`${deployment?.metadata.name}: must run as non-root on a read-only root file system`);
  }
}

// Probes and the scraper use the management port; the public listener serves neither /metrics nor /readyz.
for (const deployment of [silo, gateway]) {
  const template = deployment?.spec.template;
  const container = template?.spec.containers[0];
  const management = (container?.ports ?? []).find((p) => p.name === "management");
  if (!management) {
    problems.push(`${deployment?.metadata.name}: must expose the management port (named "management")`);
  }

  for (const probe of [container?.startupProbe, container?.livenessProbe, container?.readinessProbe]) {
    if (probe?.httpGet && probe.httpGet.port !== "management") {
      problems.push(`${deployment?.metadata.name}: probes must use the management port, not ${probe.httpGet.port}`);
    }
  }

  const annotations = template?.metadata.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true" || Number(annotations["prometheus.io/port"]) !== management?.containerPort) {
    problems.push(`${deployment?.metadata.name}: Prometheus must scrape the management port`);
  }

  // With PostgreSQL clustering, silo and gateway traffic is mutual TLS: a certificate, never Orleans__Tls__Disabled.
  const env = container?.env ?? [];
  if (!env.some((e) => e.name === "Orleans__Tls__CertificatePath") || env.some((e) => e.name === "Orleans__Tls__Disabled")) {
    problems.push(`${deployment?.metadata.name}: must set Orleans__Tls__CertificatePath and not Orleans__Tls__Disabled`);
  }
}

// Runner configs are claimed after boot: silos derive claim tokens from a shared secret and name an https claim URL;
// gateways verify claims against AWS's identity certificates.
if (!String(config.Claims__Url ?? "").startsWith("https://")) {
  problems.push("config must set Claims__Url to the gateway's https claim endpoint");
}

if (siloEnv.find((e) => e.name === "Claims__Key")?.valueFrom?.secretKeyRef === undefined) {
  problems.push("silo must read Claims__Key from a Secret");
}

if (!(gateway?.spec.template.spec.containers[0].env ?? []).some((e) => e.name.startsWith("Claims__IdentityCertificates__"))) {
  problems.push("gateway must trust at least one region's identity certificate (Claims__IdentityCertificates__<region>)");
}

// Every secret a pod reads must exist in the example, so operators know what to create.
const secretKeys = new Set(secrets.flatMap((s) => Object.keys({ ...s.data, ...s.stringData }).map((k) => `${s.metadata.name}/${k}`)));
for (const object of objects.filter((o) => o.spec?.template?.spec)) {
  const pod = object.spec.template.spec;
  const refs = [
    ...pod.containers.flatMap((c) => (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter(Boolean).map((r) => `${r.name}/${r.key}`)),
    ...(pod.volumes ?? []).filter((v) => v.secret).flatMap((v) => (v.secret.items ?? []).map((i) => `${v.secret.secretName}/${i.key}`)),
  ];
  for (const ref of refs.filter((r) => !secretKeys.has(r))) {
    problems.push(`${object.kind}/${object.metadata.name} reads secret ${ref}, which secret.example.yaml does not define`);
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}

console.log(`${objects.length + secrets.length} objects valid; Builtiful's invariants hold`);
