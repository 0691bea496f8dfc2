import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { ROOT, runCli, writeConfig } from '../helpers/gateway.js';
import { listenFacts, requiredEnv } from './facts.js';

/**
 * deploy/kubernetes/*.yaml: every object validates against the Kubernetes JSON schemas (the
 * kubernetes-models package: the API's OpenAPI schemas compiled with ajv), and the objects agree
 * with each other and with the gateway config in the ConfigMap, which `gatehouse validate`
 * accepts with the Secret's placeholders as its environment. The schemas do not refuse unknown
 * fields (Kubernetes' OpenAPI does not close its objects), so each fact below reads the field it
 * relies on by its exact name.
 */

const DIR = join(ROOT, 'deploy', 'kubernetes');

interface Doc { apiVersion?: string; kind?: string; metadata?: { name?: string; labels?: Record<string, string> }; [k: string]: unknown }
type Validator = new (data: never) => { validate(): void };
/** apiVersion/kind → the model that validates it */
const MODELS: Record<string, Validator> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Schema errors of one object (none when valid). */
function schemaErrors(doc: Doc): string[] {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return [`${doc.apiVersion}/${doc.kind} is not a kind these manifests should use`];
  try {
    new Model(doc as never).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    return errors?.map((x) => `${x.instancePath || '/'} ${x.message ?? ''}`) ?? [(e as Error).message];
  }
}

function loadManifests(): Map<string, Doc & { file: string }> {
  const byKind = new Map<string, Doc & { file: string }>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as Doc | null;
      if (doc === null) continue;
      assert.ok(!byKind.has(doc.kind!), `one ${doc.kind} only (${file})`);
      byKind.set(doc.kind!, { ...doc, file });
    }
  }
  return byKind;
}

const manifests = loadManifests();
const get = <T>(kind: string) => {
  const d = manifests.get(kind);
  assert.ok(d, `deploy/kubernetes has a ${kind}`);
  return d as unknown as T & { file: string };
};
const deployment = get<IDeployment>('Deployment');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0] as IContainer;
const configMap = get<{ metadata: { name: string }; data: Record<string, string> }>('ConfigMap');
const secret = get<{ metadata: { name: string }; stringData: Record<string, string> }>('Secret');
const configYaml = configMap.data['gatehouse.yaml']!;
const facts = listenFacts(configYaml);
const portOf = (p: number | string | undefined) => (typeof p === 'number' ? p : container.ports?.find((x) => x.name === p)?.containerPort);

describe('Kubernetes manifests against the Kubernetes JSON schemas', () => {
  it('every object is valid and of the expected kinds', () => {
    assert.deepEqual([...manifests.keys()].sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const doc of manifests.values()) assert.deepEqual(schemaErrors(doc), [], `${doc.file}: ${doc.kind}`);
  });

  it('the schemas catch a broken object (the check can fail)', () => {
    const broken = structuredClone(manifests.get('Deployment')!) as unknown as Doc & { spec: { replicas: unknown; template: { spec: { containers: unknown[] } } } };
    broken.spec.replicas = 'two';
    delete (broken.spec.template.spec.containers[0] as { name?: string }).name;
    const errors = schemaErrors(broken);
    assert.ok(errors.some((e) => e.includes('/spec/replicas')), errors.join('\n'));
    assert.ok(errors.some((e) => /containers\/0.*name/.test(e)), errors.join('\n'));
    assert.deepEqual(schemaErrors({ ...manifests.get('PodDisruptionBudget')!, apiVersion: 'policy/v1beta1' }), ['policy/v1beta1/PodDisruptionBudget is not a kind these manifests should use']);
  });
});

describe('the Deployment runs Gatehouse safely', () => {
  it('probes: readiness on /readyz and liveness on /healthz, on the admin port of the config', () => {
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(portOf(container.readinessProbe?.httpGet?.port), facts.admin);
    assert.equal(portOf(container.livenessProbe?.httpGet?.port), facts.admin);
    assert.equal(portOf('http'), facts.http, 'the http container port is the gateway listener');
    // the kubelet probes the pod's address: the admin listener cannot be loopback-only
    assert.notEqual(facts.adminHost, '127.0.0.1');
  });

  it('security context: non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
    const sc = container.securityContext!;
    assert.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    assert.equal(sc.capabilities?.add, undefined);
    assert.notEqual(pod.securityContext?.runAsUser ?? sc.runAsUser, 0);
    assert.equal(pod.automountServiceAccountToken, false);
    // the only writable mounts are tmpfs-like emptyDirs; the config is read-only
    for (const m of container.volumeMounts ?? []) {
      const v = pod.volumes?.find((x) => x.name === m.name);
      assert.ok(v, `volume ${m.name} exists`);
      assert.ok(m.readOnly === true || v.emptyDir !== undefined, `${m.mountPath} is read-only or an emptyDir`);
    }
  });

  it('resources have requests (the autoscaler needs the CPU request) and a memory limit', () => {
    assert.ok(container.resources?.requests?.cpu);
    assert.ok(container.resources?.requests?.memory);
    assert.ok(container.resources?.limits?.memory);
  });

  it('graceful shutdown: the grace period covers the preStop pause and gateway.shutdown-timeout', () => {
    const pause = container.lifecycle?.preStop?.exec?.command;
    assert.ok(pause && pause[0] === 'sleep', 'a preStop pause lets the endpoints drop the pod before SIGTERM');
    const pauseSeconds = Number(pause[1]);
    assert.ok(pauseSeconds > 0);
    assert.ok(Number.isFinite(facts.shutdownTimeout));
    assert.ok(pod.terminationGracePeriodSeconds! > pauseSeconds + facts.shutdownTimeout,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${pauseSeconds}s + shutdown-timeout ${facts.shutdownTimeout}s`);
  });

  it('the config comes from the ConfigMap, at the path the container is started with', () => {
    const mount = container.volumeMounts!.find((m) => pod.volumes!.find((v) => v.name === m.name)?.configMap?.name === configMap.metadata.name);
    assert.ok(mount, 'the ConfigMap is mounted');
    const args = [...(container.command ?? []), ...(container.args ?? [])];
    assert.equal(args[args.indexOf('--config') + 1], `${mount.mountPath}/gatehouse.yaml`);
  });

  it('every ${ENV:...} of the config is set by the Deployment or the Secret', () => {
    assert.ok(container.envFrom?.some((e) => e.secretRef?.name === secret.metadata.name), 'the Secret is the environment');
    const provided = new Set([...(container.env ?? []).map((e) => e.name), ...Object.keys(secret.stringData)]);
    const required = requiredEnv(configYaml);
    assert.ok(required.length > 0);
    for (const name of required) assert.ok(provided.has(name), `${name} is provided`);
  });
});

describe('Service, HPA, PodDisruptionBudget and Secret fit the Deployment', () => {
  const labels = deployment.spec!.template.metadata!.labels!;
  const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);

  it('the Service selects the pods and publishes the gateway port only', () => {
    const svc = get<{ spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: number | string }> } }>('Service');
    assert.ok(selects(svc.spec.selector));
    assert.deepEqual(svc.spec.ports.map((p) => portOf(p.targetPort)), [facts.http], 'never the admin listener');
    assert.ok(selects(deployment.spec!.selector.matchLabels!));
  });

  it('the HPA scales this Deployment (autoscaling/v2) and the PDB (policy/v1) keeps one serving', () => {
    const hpa = get<{ spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>('HorizontalPodAutoscaler');
    assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', deployment.metadata!.name]);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const pdb = get<{ spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    assert.ok(selects(pdb.spec.selector.matchLabels));
    assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < hpa.spec.minReplicas, 'a drain can always evict one pod');
  });

  it('the Secret holds placeholders only, never a key', () => {
    assert.ok(Object.keys(secret.stringData).length > 0);
    for (const [k, v] of Object.entries(secret.stringData)) assert.match(v, /REPLACE-ME/, `${k} is a placeholder`);
    assert.equal((secret as { data?: unknown }).data, undefined, 'no base64 data');
  });

  it('replicas share their state: counters in Redis, identity data in PostgreSQL', () => {
    assert.match(configYaml, /store: "\$\{ENV:GATEHOUSE_REDIS_URL\}"/);
    assert.match(secret.stringData.GATEHOUSE_REDIS_URL!, /^rediss?:\/\//);
    assert.match(configYaml, /database: "\$\{ENV:GATEHOUSE_DATABASE_URL\}"/);
    assert.match(secret.stringData.GATEHOUSE_DATABASE_URL!, /^postgres(ql)?:\/\//);
  });
});

describe('the ConfigMap config', () => {
  const env = { ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? ''])), ...secret.stringData };

  it('passes gatehouse validate with the placeholders as its environment', async () => {
    const r = await runCli(['validate', '--config', writeConfig(configYaml)], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
  });

  it('is refused when one is missing (so the check above can fail)', async () => {
    assert.equal(process.env.GATEHOUSE_KEY_SECRET, undefined);
    const { GATEHOUSE_KEY_SECRET: _, ...rest } = env;
    const r = await runCli(['validate', '--config', writeConfig(configYaml)], { env: rest });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GATEHOUSE_KEY_SECRET/);
  });
});
