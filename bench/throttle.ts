/**
 * Throttling scenarios for `npm run bench throttle` (issue 4): rate-limit-by-key on the memory
 * store and on Redis (127.0.0.1:6379, a fresh key prefix per run), measured by bench/run.ts
 * against the no-policy gateway in the same run.
 *
 * The limit is set high enough that every call is admitted (the admitted path is the expensive
 * one: it records the call), and the window is short so the log under the one benchmark key
 * stays about one second of traffic long.
 */
export function throttleScenarios(backendUrl: string): Array<{ name: string; yaml: string }> {
  const prefix = `bench:${process.pid}:${Date.now().toString(36)}:`;
  const yaml = (store: string) => `gateway:
  listen: { http: 0 }
  store: "${store}"
backends:
  b: { url: "${backendUrl}" }
apis:
  - name: bench
    path: /
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key:
            calls: 1000000
            renewal-period: 1
            counter-key: "{request.ip}"
            remaining-calls-header-name: X-Remaining
`;
  return [
    { name: 'rate-limit-by-key, memory store', yaml: yaml('memory') },
    { name: 'rate-limit-by-key, redis store', yaml: yaml(`redis://127.0.0.1:6379/0?prefix=${prefix}`) },
  ];
}
