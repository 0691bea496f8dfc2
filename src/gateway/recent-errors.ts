/**
 * The recent error responses of a gateway process (5xx, and every problem answer: a refused key,
 * a rate limit, a failed validation), for the management API's /errors: a bounded ring in
 * memory. An entry holds the time, request id, API, operation, status and problem code; never a
 * path, query, header or body, which may carry secrets.
 */

export interface RecentError {
  at: string;
  requestId: string;
  api?: string;
  operation?: string;
  status: number;
  code?: string;
}

export class RecentErrors {
  private readonly ring: Array<RecentError | undefined>;
  private next = 0;

  constructor(readonly capacity = 200) {
    this.ring = new Array<RecentError | undefined>(capacity);
  }

  push(e: { requestId: string; api: string | undefined; operation: string | undefined; status: number; code: string | undefined }): void {
    this.ring[this.next] = {
      at: new Date().toISOString(), requestId: e.requestId, status: e.status,
      ...(e.api ? { api: e.api } : {}), ...(e.operation ? { operation: e.operation } : {}), ...(e.code ? { code: e.code } : {}),
    };
    this.next = (this.next + 1) % this.capacity;
  }

  /** newest first */
  list(): RecentError[] {
    const out: RecentError[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }
}
